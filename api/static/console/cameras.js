// The camera register (별지 1호): add a camera through POST /api/v1/cameras.
"use strict";
(() => {
  const form = document.getElementById("camera-form");
  if (!form) return;
  const LABELS = { code: "관리번호", location: "설치장소", department: "담당 부서", officer: "관리책임자", staff: "취급자",
    count: "대수", retention_days: "보관기간" };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements, missing = [];
    for (const n of Object.keys(LABELS)) {
      const bad = !f[n].value.trim() || (n === "retention_days" && !(+f[n].value >= 1 && +f[n].value <= 30)) ||
        (n === "count" && !(+f[n].value >= 1));
      f[n].setAttribute("aria-invalid", bad ? "true" : "false");
      if (bad) missing.push(LABELS[n]);
    }
    if (missing.length) { Console.say(`다음 항목을 확인해 주십시오 (보관기간은 1-30일): ${missing.join(", ")}`); return; }
    const body = { code: f.code.value.trim(), location: f.location.value.trim(), department: f.department.value.trim(),
      officer: f.officer.value.trim(), staff: f.staff.value.trim(), purpose: f.purpose.value,
      purpose_detail: f.purpose_detail.value.trim(), count: +f.count.value, retention_days: +f.retention_days.value };
    try { await Console.api("POST", "/api/v1/cameras", body); location.reload(); } catch (err) { Console.fail(err); }
  });
})();
