// The privacy officer's queue: grant a request (its notice is made), approve a provision (결재).
"use strict";
(() => {
  document.querySelectorAll("button.grant").forEach((b) => b.addEventListener("click", async () => {
    try {
      await Console.api("POST", `/api/v1/requests/${b.dataset.request}/decisions`, { outcome: "grant", reasons: "열람 허용 (마스킹 처리)" });
      location.reload();
    } catch (err) { Console.fail(err); }
  }));
  document.querySelectorAll("button.approve").forEach((b) => b.addEventListener("click", async () => {
    try {
      await Console.api("POST", `/api/v1/provisions/${b.dataset.provision}/approvals`, { note: document.getElementById(`note-${b.dataset.provision}`).value });
      location.reload();
    } catch (err) { Console.fail(err); }
  }));
})();
