// Provisions (제32조): propose, approve, release a render to it, the handover package (별지 3호), its destruction.
"use strict";
(() => {
  const form = document.getElementById("provision-form");
  if (form) form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements, bad = [];
    for (const [n, label] of [["recipient_agency", "받는 기관"], ["recipient_officer", "성명"], ["period_from", "기간 시작"], ["period_to", "기간 끝"], ["purpose", "목적"]]) {
      const miss = !f[n].value.trim(); f[n].setAttribute("aria-invalid", miss ? "true" : "false"); if (miss) bad.push(label);
    }
    if (bad.length) { Console.say(`다음 항목을 적어 주십시오: ${bad.join(", ")}`); return; }
    if (f.period_to.value <= f.period_from.value) { Console.say("기간의 끝은 시작보다 뒤여야 합니다."); return; }
    const body = { ground: Number(f.ground.value), recipient_agency: f.recipient_agency.value.trim(), recipient_rank: f.recipient_rank.value.trim(),
      recipient_officer: f.recipient_officer.value.trim(), recipient_phone: f.recipient_phone.value.trim(), purpose: f.purpose.value.trim(),
      period_from: Console.kstIso(f.period_from.value), period_to: Console.kstIso(f.period_to.value), form: f.form.value.trim() || "사본(마스킹)",
      use: f.use.checked };
    if (f.camera_id.value) body.camera_id = Number(f.camera_id.value);
    if (f.use_until.value) body.use_until = f.use_until.value;
    try { const p = await Console.api("POST", "/api/v1/provisions", body); location.href = `/console/provisions/${p.id}`; } catch (err) { Console.fail(err); }
  });
  const page = document.getElementById("provision-page");
  if (!page) return;
  const id = page.dataset.provision;
  const show = (url, until, what) => {
    const out = document.getElementById("link-out"); out.hidden = false; out.textContent = "";
    const a = document.createElement("a"); a.href = url; a.id = "download-link"; a.textContent = what;
    out.append(a, ` (만료 ${until.slice(0, 16).replace("T", " ")} UTC)`);
  };
  const approve = document.getElementById("approve");
  if (approve) approve.addEventListener("click", async () => {
    try { await Console.api("POST", `/api/v1/provisions/${id}/approvals`, { note: document.getElementById("approve-note").value }); location.reload(); } catch (err) { Console.fail(err); }
  });
  const rel = document.getElementById("release-form");
  if (rel) rel.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await Console.api("POST", "/api/v1/releases", { render_id: document.getElementById("render-id").value, provision_id: Number(id), expires_days: Number(document.getElementById("p-days").value) });
      const end = await Console.follow(r.id, (j) => { document.getElementById("release-label").textContent = Console.stepKo(j.status === "running" ? j.step : j.status); });
      if (end.status !== "done") Console.say(`제공이 끝나지 못했습니다: ${end.error || end.status}`); else location.reload();
    } catch (err) { Console.fail(err); }
  });
  document.querySelectorAll("button.make-link").forEach((b) => b.addEventListener("click", async () => {
    try { const l = await Console.api("POST", `/api/v1/releases/${b.dataset.release}/links`, { hours: 24 }); show(l.url, l.expires_at, "제공본 내려받기 링크"); } catch (err) { Console.fail(err); }
  }));
  document.querySelectorAll("button.make-package").forEach((b) => b.addEventListener("click", async () => {
    try {
      const j = await Console.api("POST", `/api/v1/provisions/${id}/packages`, { release_id: Number(b.dataset.release) });
      Console.say("인계 꾸러미를 만드는 중입니다…", true);
      const end = await Console.follow(j.id, () => {});
      if (end.status !== "done") Console.say(`꾸러미를 만들지 못했습니다: ${end.error || end.status}`); else location.reload();
    } catch (err) { Console.fail(err); }
  }));
  document.querySelectorAll("button.package-link").forEach((b) => b.addEventListener("click", async () => {
    try { const l = await Console.api("POST", `/api/v1/provisions/${id}/packages/${b.dataset.job}/links`, { hours: 24 }); show(l.url, l.expires_at, "꾸러미 내려받기 링크 (인수증 포함)"); } catch (err) { Console.fail(err); }
  }));
  document.querySelectorAll("form.destroy-form").forEach((f) => f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const el = f.elements, data = new FormData();
    if (!el.officer_confirmation.checked && !el.slip.files.length) { Console.say("서명된 파기 확인서를 올리거나, 직접 확인했음을 체크하십시오."); return; }
    if (el.officer_confirmation.checked && !el.destroyed_by_name.value.trim()) { Console.say("파기한 사람의 성명을 적어 주십시오."); return; }
    data.append("officer_confirmation", el.officer_confirmation.checked ? "true" : "false");
    for (const n of ["destroyed_by_affiliation", "destroyed_by_rank", "destroyed_by_name", "method"]) data.append(n, el[n].value.trim());
    if (el.slip.files.length) data.append("slip", el.slip.files[0]);
    try { await Console.api("POST", `/api/v1/provisions/${id}/packages/${f.dataset.job}/destruction`, data); location.reload(); } catch (err) { Console.fail(err); }
  }));
})();
