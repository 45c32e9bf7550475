// A request: start an analysis, follow running jobs, decide (with its notice), make a download link.
"use strict";
(() => {
  const requestId = Number(document.getElementById("request-id").value);
  document.querySelectorAll("button.analyse").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      const job = await Console.api("POST", "/api/v1/analyses", { recording_id: Number(b.dataset.recording), request_id: requestId });
      location.href = `/console/analyses/${job.id}`;
    } catch (err) { Console.fail(err); b.disabled = false; }
  }));
  document.querySelectorAll(".job").forEach((box) => {
    if (!["queued", "running"].includes(box.dataset.status)) return;
    Console.follow(box.dataset.job, (job) => Console.progressOf(job, box.querySelector(".job-bar"), box.querySelector(".job-label")))
      .catch(Console.fail);
  });
  const form = document.getElementById("decision-form");
  if (form) form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = { outcome: form.querySelector("input[name=outcome]:checked").value, reasons: f.reasons.value.trim() };
    if (f.refusal_ground && f.refusal_ground.value) body.refusal_ground = Number(f.refusal_ground.value);
    if (f.withheld) body.withheld = f.withheld.value.trim();
    if (f.postponed_until.value) body.postponed_until = Console.kstIso(f.postponed_until.value);
    if (body.outcome === "refuse" && !body.refusal_ground) { Console.say("거절하려면 제33조③의 근거(제1-4호)를 고르십시오."); f.refusal_ground.focus(); return; }
    if (body.outcome === "limit" && !body.withheld) { Console.say("일부 제한이면 제한하는 부분을 적어 주십시오."); f.withheld.focus(); return; }
    try {
      const d = await Console.api("POST", `/api/v1/requests/${requestId}/decisions`, body);
      if (d.message) alert(d.message);
      location.reload();
    } catch (err) { Console.fail(err); }
  });
  document.querySelectorAll("button.make-link").forEach((b) => b.addEventListener("click", async () => {
    try {
      const link = await Console.api("POST", `/api/v1/releases/${b.dataset.release}/links`, { hours: 24, reason: `request:${requestId}` });
      const out = document.getElementById("link-out");
      out.hidden = false; out.textContent = "";
      const a = document.createElement("a"); a.href = link.url; a.textContent = "내려받기 링크"; a.id = "download-link";
      out.append(a, ` (만료 ${link.expires_at.slice(0, 16).replace("T", " ")} UTC, 청구인에게 전달)`);
    } catch (err) { Console.fail(err); }
  }));
})();
