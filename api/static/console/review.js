// Review of an analysis: progress, the frame viewer (masks drawn, a scrubber, a click keeps or un-keeps someone),
// the people as rows with a filmstrip and a timeline each, a box for a missed face, a split, a photo's proposals,
// and the render.
"use strict";
(() => {
  const root = document.getElementById("review");
  const job = root.dataset.job, API = `/api/v1/analyses/${job}`, canEdit = root.dataset.edit === "1";
  const LABEL_KO = { face: "얼굴", plate: "번호판", person: "사람", vehicle: "차량" };
  if (["queued", "running"].includes(root.dataset.status)) {
    Console.follow(job, (j) => Console.progressOf(j, document.getElementById("job-bar"), document.getElementById("job-label")))
      .then((j) => { if (j.status === "done") location.reload(); else Console.say(`분석이 끝나지 못했습니다: ${Console.stepKo(j.status)} ${j.error || ""}`); })
      .catch(Console.fail);
    return;
  }
  if (root.dataset.status !== "done") return;
  const frames = Number(root.dataset.frames) || 1;
  const img = document.getElementById("frame"), scrub = document.getElementById("scrubber"), num = document.getElementById("frame-no");
  const overlay = document.getElementById("overlay"), list = document.getElementById("tracks");
  let tracks = [], keep = new Set(root.dataset.keep ? root.dataset.keep.split(",").map(Number) : []);
  let keepSetId = root.dataset.keepSet || "", n = 0, stamp = 0;

  function showFrame(k) {
    n = Math.max(0, Math.min(frames - 1, k | 0));
    scrub.value = n; num.value = n;
    const q = new URLSearchParams({ overlay: overlay.value });
    if (keepSetId && overlay.value === "masks") q.set("keep_set_id", keepSetId);
    q.set("v", String(stamp));
    img.src = `${API}/frames/${n}.jpg?${q}`;
    img.alt = `프레임 ${n}: ${overlay.selectedOptions[0].textContent} 표시`;
  }
  scrub.addEventListener("input", () => showFrame(+scrub.value));
  num.addEventListener("change", () => showFrame(+num.value));
  overlay.addEventListener("change", () => showFrame(n));
  document.getElementById("prev").addEventListener("click", () => showFrame(n - 1));
  document.getElementById("next").addEventListener("click", () => showFrame(n + 1));

  // a track with its person (parent) and the person's faces: kept or un-kept together
  function group(id) {
    const t = tracks.find((x) => x.id === id);
    const top = t && t.parent != null && tracks.some((x) => x.id === t.parent) ? t.parent : id;
    return [top, ...tracks.filter((x) => x.parent === top).map((x) => x.id)];
  }
  async function saveKeep(reason) {
    if (!canEdit) return;
    const ks = await Console.api("POST", `${API}/keep-sets`, { track_ids: [...keep], reason });
    keepSetId = String(ks.id); stamp++;
  }
  async function toggle(id, reason) {
    const ids = group(id), on = !ids.every((x) => keep.has(x));
    ids.forEach((x) => (on ? keep.add(x) : keep.delete(x)));
    try { await saveKeep(reason); } catch (err) { Console.fail(err); }
    draw(); showFrame(n);
    Console.say(on ? `트랙 ${ids.join(", ")}을(를) 청구인으로 유지합니다.` : `트랙 ${ids.join(", ")}의 유지를 풀었습니다 (가려집니다).`, true);
  }
  function draw() {
    list.textContent = "";
    const order = [...tracks].sort((a, b) => (a.parent ?? a.id) - (b.parent ?? b.id) || (a.parent == null ? -1 : 1));
    for (const t of order) {
      const li = document.createElement("li");
      li.classList.toggle("kept", keep.has(t.id));
      const row = document.createElement("div"); row.className = "row";
      const box = document.createElement("input"); box.type = "checkbox"; box.id = `keep-${t.id}`; box.checked = keep.has(t.id);
      box.disabled = !canEdit; box.addEventListener("change", () => toggle(t.id, "청구인 본인 (목록에서 선택)"));
      const lab = document.createElement("label"); lab.htmlFor = box.id; lab.className = "inline";
      lab.textContent = `${t.parent != null ? "└ " : ""}${LABEL_KO[t.label] || t.label} #${t.id}${t.manual ? " (직접 추가)" : ""} 유지`;
      const th = document.createElement("img"); th.className = "thumb"; th.loading = "lazy"; th.src = t.thumbnail_url; th.alt = `트랙 ${t.id} 대표 장면`;
      const go = document.createElement("button"); go.type = "button"; go.className = "secondary";
      go.textContent = `프레임 ${t.first_frame}-${t.last_frame}`; go.setAttribute("aria-label", `트랙 ${t.id}의 첫 프레임 ${t.first_frame}로 가기`);
      go.addEventListener("click", () => showFrame(t.first_frame));
      row.append(box, lab, th, go);
      const line = document.createElement("div"); line.className = "timeline"; line.setAttribute("aria-hidden", "true");
      const seg = document.createElement("span");
      seg.style.left = `${(100 * t.first_frame) / frames}%`;
      seg.style.width = `${Math.max(0.5, (100 * (t.last_frame - t.first_frame + 1)) / frames)}%`;
      line.append(seg);
      const strip = document.createElement("img"); strip.className = "strip"; strip.loading = "lazy";
      strip.src = `${API}/tracks/${t.id}/filmstrip.jpg?count=8&height=48`; strip.alt = `트랙 ${t.id}의 필름 스트립`;
      li.append(row, line, strip);
      if (canEdit && t.frames > 1) {
        const f = document.createElement("form"); f.className = "scrub";
        const lid = `split-${t.id}`;
        const l = document.createElement("label"); l.htmlFor = lid; l.className = "inline"; l.textContent = "나눌 프레임";
        const inp = document.createElement("input"); inp.type = "number"; inp.id = lid; inp.min = t.first_frame + 1; inp.max = t.last_frame;
        inp.value = Math.max(t.first_frame + 1, n);
        const b = document.createElement("button"); b.type = "submit"; b.className = "secondary"; b.textContent = `트랙 ${t.id} 나누기`;
        f.append(l, inp, b);
        f.addEventListener("submit", async (e) => {
          e.preventDefault();
          try {
            const r = await Console.api("POST", `${API}/tracks/${t.id}/split`, { frame: Number(inp.value), reason: "추적이 다른 사람으로 넘어감" });
            Console.say(`트랙 ${t.id}을(를) 프레임 ${inp.value}에서 나눴습니다: 새 트랙 ${r.tracks[1].id}.`, true);
            await load();
          } catch (err) { Console.fail(err); }
        });
        li.append(f);
      }
      list.append(li);
    }
    document.getElementById("kept-count").textContent = String([...keep].length);
  }
  async function load() {
    const data = await Console.api("GET", `${API}/tracks`);
    tracks = data.tracks; document.getElementById("revision").textContent = String(data.revision);
    stamp++; draw(); showFrame(n);
  }

  // a click on the picture: the tracks there, the smallest under the pointer (a face before its person)
  function toPixels(e) {
    const r = img.getBoundingClientRect();
    return [((e.clientX - r.left) * img.naturalWidth) / r.width, ((e.clientY - r.top) * img.naturalHeight) / r.height];
  }
  let boxMode = false, start = null;
  const modeBtn = document.getElementById("box-mode"), drag = document.getElementById("drag");
  if (modeBtn) modeBtn.addEventListener("click", () => { boxMode = !boxMode; modeBtn.setAttribute("aria-pressed", String(boxMode)); modeBtn.textContent = boxMode ? "상자 그리기 끝내기" : "놓친 얼굴에 상자 그리기"; });
  img.addEventListener("mousedown", (e) => { if (boxMode) { e.preventDefault(); start = [e.clientX, e.clientY, ...toPixels(e)]; } });
  img.addEventListener("mousemove", (e) => {
    if (!boxMode || !start) return;
    const r = img.getBoundingClientRect();
    drag.hidden = false;
    drag.style.left = `${Math.min(start[0], e.clientX) - r.left}px`; drag.style.top = `${Math.min(start[1], e.clientY) - r.top}px`;
    drag.style.width = `${Math.abs(e.clientX - start[0])}px`; drag.style.height = `${Math.abs(e.clientY - start[1])}px`;
  });
  img.addEventListener("mouseup", async (e) => {
    if (!boxMode || !start) return;
    const [x, y] = toPixels(e), [x0, y0] = start.slice(2);
    start = null; drag.hidden = true;
    const f = (id, v) => { document.getElementById(id).value = Math.round(v); };
    f("bx1", Math.min(x, x0)); f("by1", Math.min(y, y0)); f("bx2", Math.max(x, x0)); f("by2", Math.max(y, y0));
    await addBox();
  });
  img.addEventListener("click", async (e) => {
    if (boxMode || !canEdit) return;
    const [x, y] = toPixels(e);
    try {
      const at = await Console.api("GET", `${API}/frames/${n}/tracks`);
      const under = at.tracks.filter((t) => t.box[0] <= x && x <= t.box[2] && t.box[1] <= y && y <= t.box[3]);
      if (!under.length) { Console.say(`프레임 ${n}의 그 자리에는 트랙이 없습니다. 놓친 얼굴이면 상자를 그리십시오.`); return; }
      const area = (t) => (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]) * (t.label === "face" ? 0.5 : 1);
      under.sort((a, b) => area(a) - area(b));
      await toggle(under[0].id, "청구인 본인 (화면에서 선택)");
    } catch (err) { Console.fail(err); }
  });
  async function addBox() {
    const v = ["bx1", "by1", "bx2", "by2"].map((id) => Number(document.getElementById(id).value));
    if (!(v[2] - v[0] >= 2 && v[3] - v[1] >= 2)) { Console.say("상자가 너무 작습니다: x2는 x1보다, y2는 y1보다 2픽셀 이상 커야 합니다."); return; }
    try {
      const r = await Console.api("POST", `${API}/boxes`, { frame: n, box: v, label: document.getElementById("box-label").value, reason: "검출기가 놓친 얼굴" });
      const t = r.tracks[0];
      Console.say(`상자를 추가했습니다: 트랙 ${t.id} (프레임 ${t.first_frame}-${t.last_frame}까지 따라갔습니다). 가려집니다.`, true);
      await load();
    } catch (err) { Console.fail(err); }
  }
  const boxForm = document.getElementById("box-form");
  if (boxForm) boxForm.addEventListener("submit", (e) => { e.preventDefault(); addBox(); });

  const photo = document.getElementById("photo-form");
  if (photo) photo.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = document.getElementById("photo").files[0], by = document.getElementById("consent_by").value.trim();
    if (!file || !by || !document.getElementById("consent_ok").checked) { Console.say("사진, 동의한 사람, 동의 확인을 모두 채워 주십시오."); return; }
    const data = new FormData();
    data.append("photo", file); data.append("consent_by", by); data.append("consent_note", document.getElementById("consent_note").value);
    try {
      const r = await Console.api("POST", `${API}/proposals`, data);
      const out = document.getElementById("proposals"); out.textContent = "";
      if (!r.proposals.length) Console.say("사진과 맞는 사람을 찾지 못했습니다. 화면에서 직접 고르십시오.");
      r.proposals.forEach((p, i) => {
        const li = document.createElement("li");
        const b = document.createElement("button"); b.type = "button"; b.className = "secondary";
        b.textContent = `후보 ${i + 1}: 트랙 ${p.track_ids.join(", ")} (유사도 ${p.score.toFixed(2)}) 유지`;
        b.addEventListener("click", async () => {
          p.track_ids.forEach((id) => keep.add(id));
          try { await saveKeep(`청구인 본인 (사진 대조, 동의 ${r.consent.id})`); } catch (err) { Console.fail(err); }
          draw(); showFrame(n);
        });
        li.append(b); out.append(li);
      });
    } catch (err) { Console.fail(err); }
  });
  const go = document.getElementById("render");
  if (go) go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      if (!keepSetId) await saveKeep("유지 없음: 모두 가림");
      const r = await Console.api("POST", "/api/v1/renders", { keep_set_id: Number(keepSetId), style: document.getElementById("style").value });
      document.getElementById("render-box").hidden = false;
      const end = await Console.follow(r.id, (j) => Console.progressOf(j, document.getElementById("render-bar"), document.getElementById("render-label")));
      location.href = `/console/renders/${end.id}`;
    } catch (err) { Console.fail(err); go.disabled = false; }
  });
  load().then(() => {
    const m = /^#frame-(\d+)$/.exec(location.hash);  // a link from the render's report: that frame
    if (m) showFrame(Number(m[1]));
  }).catch(Console.fail);
})();
