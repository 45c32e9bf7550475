// The ledger: verify the hash chain, checkpoints and signatures (GET /api/v1/ledger/verify).
"use strict";
(() => {
  const out = document.getElementById("verify-out");
  document.getElementById("verify").addEventListener("click", async () => {
    out.textContent = "검증 중…";
    try {
      const r = await Console.api("GET", "/api/v1/ledger/verify");
      out.textContent = r.ok ? `검증 통과: 변조 흔적이 없습니다. (${r.summary})` : `검증 실패: ${r.summary}`;
      out.className = r.ok ? "badge done" : "error";
    } catch (err) { out.textContent = ""; Console.fail(err); }
  });
})();
