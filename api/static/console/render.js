// A render: its progress, then release (the privacy officer) and the recipient's expiring link.
"use strict";
(() => {
  const root = document.getElementById("render-page");
  const job = root.dataset.job, requestId = root.dataset.request ? Number(root.dataset.request) : null;
  if (["queued", "running"].includes(root.dataset.status)) {
    Console.follow(job, (j) => Console.progressOf(j, document.getElementById("render-bar"), document.getElementById("render-label")))
      .then(() => location.reload()).catch(Console.fail);
  }
  async function link(releaseId) {
    const l = await Console.api("POST", `/api/v1/releases/${releaseId}/links`, { hours: 24 });
    const out = document.getElementById("link-out");
    out.hidden = false; out.textContent = "";
    const a = document.createElement("a"); a.href = l.url; a.id = "download-link"; a.textContent = "제공본 내려받기 링크";
    out.append(a, ` (만료 ${l.expires_at.slice(0, 16).replace("T", " ")} UTC). 이 주소를 청구인에게 전달합니다.`);
  }
  document.querySelectorAll("button.make-link").forEach((b) => b.addEventListener("click", () => link(b.dataset.release).catch(Console.fail)));
  const keepSet = root.dataset.keepSet;
  document.querySelectorAll("button.confirm").forEach((b) => b.addEventListener("click", async () => {
    try {
      await Console.api("POST", `/api/v1/keep-sets/${keepSet}/confirmations`, { first: Number(b.dataset.first), last: Number(b.dataset.last),
        track: b.dataset.track ? Number(b.dataset.track) : null, note: "검토 화면에서 청구인 확인" });
      b.disabled = true; b.textContent = "확인함";
      Console.say(`프레임 ${b.dataset.first}-${b.dataset.last}을(를) 청구인으로 확인했습니다. 다시 렌더하면 반영됩니다.`, true);
    } catch (err) { Console.fail(err); }
  }));
  const again = document.getElementById("rerender");
  if (again) again.addEventListener("click", async () => {
    again.disabled = true;
    try {
      const r = await Console.api("POST", "/api/v1/renders", { keep_set_id: Number(keepSet), style: root.dataset.style, reason: "신원 확인 반영" });
      location.href = `/console/renders/${r.id}`;
    } catch (err) { Console.fail(err); again.disabled = false; }
  });
  const form = document.getElementById("release-form");
  if (form) form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const days = Number(document.getElementById("expires_days").value);
    if (!(days >= 1 && days <= 30)) { Console.say("기간은 1일에서 30일 사이로 적어 주십시오."); return; }
    try {
      const r = await Console.api("POST", "/api/v1/releases", { render_id: job, request_id: requestId, expires_days: days });
      document.getElementById("release-box").hidden = false;
      const end = await Console.follow(r.id, (j) => Console.progressOf(j, document.getElementById("release-bar"), document.getElementById("release-label")));
      if (end.status !== "done") { Console.say(`제공이 끝나지 못했습니다: ${end.error || end.status}`); return; }
      Console.say(`제공했습니다: 관리대장 ${end.result.ledger_number || ""}번.`, true);
      await link(end.result.release_id);
    } catch (err) { Console.fail(err); }
  });
})();
