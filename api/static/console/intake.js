// 별지 4호 intake: each field checked with a Korean message beside it, then POST /api/v1/requests.
"use strict";
(() => {
  const form = document.getElementById("intake");
  const LABELS = { requester_name: "청구인 성명", camera_location: "설치장소", purpose: "청구 목적 및 사유",
    period_from: "기록기간 시작", period_to: "기록기간 끝", requester_phone: "전화번호", subject_phone: "정보주체 전화번호",
    requester_birth: "생년월일", subject_birth: "정보주체 생년월일", received_at: "접수일시", camera_id: "카메라", kind: "청구 구분" };
  const field = (name) => form.elements[name];
  function mark(name, text) {
    const el = field(name);
    if (!el || el instanceof RadioNodeList) return;
    let note = document.getElementById(`${name}-error`);
    if (!note) { note = document.createElement("span"); note.id = `${name}-error`; note.className = "field-error"; el.after(note); }
    note.textContent = text || "";
    el.setAttribute("aria-invalid", text ? "true" : "false");
    if (text) el.setAttribute("aria-describedby", note.id); else el.removeAttribute("aria-describedby");
  }
  field("camera_id").addEventListener("change", (e) => {
    const opt = e.target.selectedOptions[0];
    if (opt && opt.dataset.location && !field("camera_location").value) field("camera_location").value = opt.dataset.location;
  });
  function check() {
    const errors = {};
    const v = (n) => field(n).value.trim();
    for (const n of ["requester_name", "camera_location", "purpose"]) if (!v(n)) errors[n] = `${LABELS[n]}을(를) 적어 주십시오.`;
    for (const n of ["period_from", "period_to"]) if (!v(n)) errors[n] = `${LABELS[n]} 날짜와 시각을 적어 주십시오.`;
    if (v("period_from") && v("period_to") && v("period_to") <= v("period_from")) errors.period_to = "기록기간의 끝은 시작보다 뒤여야 합니다.";
    for (const n of ["requester_phone", "subject_phone"]) if (v(n) && !/^[0-9+\-() ]{7,20}$/.test(v(n))) errors[n] = "전화번호는 숫자와 하이픈(-)으로 적어 주십시오. 예: 010-1234-5678";
    const today = new Date().toISOString().slice(0, 10);
    for (const n of ["requester_birth", "subject_birth"]) if (v(n) && v(n) > today) errors[n] = "생년월일이 오늘보다 뒤일 수 없습니다.";
    if (v("subject_name") === "" && v("requester_relation") && v("requester_relation") !== "본인") errors.subject_name = "대리인 청구이면 정보주체의 성명을 적어 주십시오.";
    return errors;
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const el of form.elements) if (el.name) mark(el.name, "");
    const errors = check();
    const names = Object.keys(errors);
    if (names.length) {
      names.forEach((n) => mark(n, errors[n]));
      Console.say(`입력을 확인해 주십시오: ${names.map((n) => LABELS[n] || n).join(", ")}`);
      field(names[0]).focus();
      return;
    }
    const body = { kind: form.querySelector("input[name=kind]:checked").value };
    for (const n of ["requester_name", "requester_phone", "requester_relation", "requester_address", "subject_name",
      "subject_phone", "subject_address", "camera_location", "purpose"]) body[n] = field(n).value.trim();
    for (const n of ["requester_birth", "subject_birth"]) if (field(n).value) body[n] = field(n).value;
    body.period_from = Console.kstIso(field("period_from").value);
    body.period_to = Console.kstIso(field("period_to").value);
    if (field("received_at").value) body.received_at = Console.kstIso(field("received_at").value);
    if (field("camera_id").value) body.camera_id = Number(field("camera_id").value);
    try {
      const r = await Console.api("POST", "/api/v1/requests", body);
      location.href = `/console/requests/${r.id}?filed=1`;
    } catch (err) {
      for (const item of (err.body && err.body.errors) || []) {
        const name = (item.loc || []).slice(-1)[0];
        if (field(name)) mark(name, item.msg_ko || item.text);
      }
      Console.fail(err);
    }
  });
})();
