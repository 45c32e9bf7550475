// The console's shared helpers: calls to /api/v1 with the session cookie and the CSRF header, Korean messages.
"use strict";
const Console = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const STATUS_KO = {
    400: "입력이 올바르지 않습니다", 401: "로그인이 필요합니다(세션이 끝났습니다). 다시 로그인하십시오",
    403: "이 작업을 할 권한이 없습니다", 404: "찾을 수 없습니다", 409: "지금 상태에서는 할 수 없습니다",
    410: "이미 파기되어 쓸 수 없습니다", 411: "파일 길이를 알 수 없습니다", 413: "파일이 너무 큽니다",
    422: "입력값이 올바르지 않습니다", 429: "요청이 너무 많습니다. 잠시 뒤 다시 시도하십시오",
    503: "서비스가 잠시 응답할 수 없습니다. 다시 시도하십시오",
  };
  const ERROR_KO = [  // the API's English details, said in Korean where it matters most
    [/no face in this clip is large enough/, "이 영상에는 사진과 비교할 만큼 큰 얼굴이 없습니다. 화면에서 청구인을 직접 고르십시오"],
    [/no face/i, "사진에서 얼굴을 찾지 못했습니다"],
    [/render after it is done/, "분석이 끝난 뒤에 렌더할 수 있습니다"],
    [/not a video|could not be decoded|no video stream/i, "영상 파일이 아니거나 읽을 수 없습니다"],
    [/only the privacy officer/, "허용·제한·거절은 보호책임자(총괄책임관)만 결정할 수 있습니다"],
    [/box must be/, "상자의 크기가 너무 작습니다(가로·세로 2픽셀 이상)"],
  ];
  class ApiError extends Error {
    constructor(status, body) {
      const detail = body && typeof body.detail === "string" ? body.detail : "";
      let ko = STATUS_KO[status] || `요청이 실패했습니다 (HTTP ${status})`;
      for (const [re, text] of ERROR_KO) if (re.test(detail)) { ko = text; break; }
      const law = body && body.article ? ` [근거: ${body.article}]` : "";
      super(detail && !detail.startsWith(ko) ? `${ko}${law}\n(세부 내용: ${detail})` : ko + law);
      this.status = status; this.body = body || {};
    }
  }
  async function api(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf(), Accept: "application/json" } };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    let r;
    try { r = await fetch(path, opts); } catch (e) { throw new ApiError(0, { detail: "" }); }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 200) }; }
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }
  function say(text, ok) {
    const box = document.getElementById("message");
    box.textContent = text; box.hidden = !text; box.classList.toggle("ok", !!ok);
    box.setAttribute("role", ok ? "status" : "alert");
  }
  function fail(err) { say(err instanceof ApiError ? err.message : `오류가 났습니다: ${err}`); if (err.status === 401) setTimeout(() => { location.href = "/console/login?next=" + encodeURIComponent(location.pathname); }, 1500); }
  // upload with progress (fetch reports none): XMLHttpRequest
  function upload(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open("POST", path); x.setRequestHeader("X-CSRF-Token", csrf()); x.setRequestHeader("Accept", "application/json");
      x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      x.onload = () => {
        let data = null; try { data = JSON.parse(x.responseText); } catch (e) { data = { detail: x.responseText.slice(0, 200) }; }
        x.status >= 200 && x.status < 300 ? resolve(data) : reject(new ApiError(x.status, data));
      };
      x.onerror = () => reject(new ApiError(0, {}));
      x.send(form);
    });
  }
  const STEP_KO = { queued: "대기", running: "진행 중", decode: "영상 읽기", detect: "검출", track: "추적", analyze: "분석",
    render: "가리기(렌더)", "re-render": "다시 가리기", audit: "감사(재검출)", store: "저장", done: "완료", blocked: "차단(감사 지적)",
    failed: "실패", watermark: "워터마크", identity: "본인 확인" };
  const stepKo = (s) => STEP_KO[s] || (s && s.startsWith("done") ? "완료 (본인 확인 안 된 구간 있음)" : s || "");
  // poll a job until it ends; `show(job)` on each answer
  async function follow(jobId, show) {
    for (;;) {
      const job = await api("GET", `/api/v1/jobs/${jobId}`);
      show(job);
      if (["done", "failed", "blocked"].includes(job.status)) return job;
      await new Promise((r) => setTimeout(r, 700));
    }
  }
  function progressOf(job, bar, label) {
    const p = job.progress || {};
    bar.max = p.frames_total || 1; bar.value = p.frames_total ? p.frames_done : (job.status === "done" ? 1 : 0);
    const step = stepKo(job.status === "running" ? p.step : job.status);
    label.textContent = p.frames_total ? `${step} · ${p.frames_done || 0}/${p.frames_total} 프레임` : step;
  }
  // ISO with the Korean offset, from a datetime-local value (the clerk types KST)
  const kstIso = (v) => v ? (v.length === 16 ? v + ":00" : v) + "+09:00" : null;
  return { api, say, fail, upload, follow, progressOf, stepKo, kstIso, ApiError };
})();
