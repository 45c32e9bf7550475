// Footage: upload with a progress bar (POST /api/v1/recordings), then, for a request, start its analysis.
"use strict";
(() => {
  async function analyse(recording, request) {
    try {
      const job = await Console.api("POST", "/api/v1/analyses", { recording_id: Number(recording), request_id: request ? Number(request) : null });
      location.href = `/console/analyses/${job.id}`;
    } catch (err) { Console.fail(err); }
  }
  document.querySelectorAll("button.analyse").forEach((b) => b.addEventListener("click", () => analyse(b.dataset.recording, b.dataset.request)));
  const form = document.getElementById("upload-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const bad = [];
    f.camera_id.setAttribute("aria-invalid", f.camera_id.value ? "false" : "true");
    f.file.setAttribute("aria-invalid", f.file.files.length ? "false" : "true");
    if (!f.camera_id.value) bad.push("카메라를 고르십시오");
    if (!f.file.files.length) bad.push("영상 파일을 고르십시오");
    if (bad.length) { Console.say(bad.join(". ") + "."); return; }
    const data = new FormData();
    data.append("camera_id", f.camera_id.value);
    data.append("reason", f.reason.value);
    if (f.start_at.value) data.append("start_at", Console.kstIso(f.start_at.value));
    data.append("file", f.file.files[0]);
    const box = document.getElementById("upload-progress"), bar = document.getElementById("upload-bar"),
      label = document.getElementById("upload-label");
    box.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    try {
      const rec = await Console.upload("/api/v1/recordings", data, (done, total) => {
        bar.value = Math.round((100 * done) / total);
        label.textContent = `${bar.value}% (${(done / 1048576).toFixed(1)} / ${(total / 1048576).toFixed(1)} MB)`;
      });
      bar.value = 100; label.textContent = `올렸습니다: 영상 ${rec.id}`;
      Console.say(`영상 ${rec.id}을(를) 올렸습니다 (녹화 ${rec.start_at.slice(0, 19)} ~ ${rec.end_at.slice(0, 19)}).`, true);
      if (f.request_id) await analyse(rec.id, f.request_id.value);
      else setTimeout(() => location.reload(), 800);
    } catch (err) { Console.fail(err); } finally { form.querySelector("button[type=submit]").disabled = false; }
  });
})();
