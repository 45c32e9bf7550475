// Holds (제35조① exceptions): keep a recording past its retention, or end the hold, each with its reason.
"use strict";
(() => {
  document.querySelectorAll("form.hold-form").forEach((f) => f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const reason = f.querySelector("input").value.trim();
    if (!reason) { Console.say("보존하는 사유를 적어 주십시오 (예: 다른 법률, 수사 중)."); f.querySelector("input").focus(); return; }
    try { await Console.api("POST", `/api/v1/recordings/${f.dataset.recording}/holds`, { reason }); location.reload(); } catch (err) { Console.fail(err); }
  }));
  document.querySelectorAll("form.unhold-form").forEach((f) => f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const reason = f.querySelector("input").value.trim();
    if (!reason) { Console.say("보존을 끝내는 사유를 적어 주십시오."); f.querySelector("input").focus(); return; }
    try { await Console.api("POST", `/api/v1/recordings/${f.dataset.recording}/holds/${f.dataset.hold}/release`, { reason }); location.reload(); } catch (err) { Console.fail(err); }
  }));
})();
