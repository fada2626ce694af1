// Webcam enrolment: shows the camera, asks the server whether each frame
// is good (live guidance), and once three good frames are in hand sends
// them for enrolment. Frames exist only in this page's memory.
(function () {
  "use strict";
  const root = document.getElementById("enrol");
  const video = document.getElementById("camera");
  const guidance = document.getElementById("guidance");
  const start = document.getElementById("start");
  const csrf = root.dataset.csrf;
  const wanted = 3;
  let good = [];
  let stream = null;
  let running = false;

  function say(text) { guidance.textContent = text; }

  function frame() {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  }

  async function post(url, blobs) {
    const body = new FormData();
    blobs.forEach((blob, i) => body.append("frame", blob, "frame" + i + ".jpg"));
    const response = await fetch(url, { method: "POST", body, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: "unexpected answer from the server" }; }
    return { ok: response.ok, data };
  }

  function stop() {
    running = false;
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  }

  async function step() {
    if (!running) return;
    if (video.videoWidth === 0) { setTimeout(step, 200); return; }
    const blob = await frame();
    const check = await post("/account/face/check", [blob]);
    if (!check.ok) {
      say(check.data.error || "that frame could not be checked");
    } else if (check.data.passed) {
      good.push(blob);
      say("Good (" + good.length + " of " + wanted + "): hold still");
    } else {
      good = [];
      say(check.data.advice.join(", "));
    }
    if (good.length < wanted) { setTimeout(step, 400); return; }
    say("Making your facial vector…");
    const result = await post("/account/face", good);
    good = [];
    if (result.ok) {
      stop();
      say("Done: your face is enrolled (model " + result.data.model_version + ").");
      root.dataset.state = "enrolled";
    } else {
      say((result.data.error || "enrolment failed") + " Trying again…");
      setTimeout(step, 800);
    }
  }

  async function begin() {
    start.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (e) {
      say("The camera could not be opened: " + e.message);
      start.disabled = false;
      return;
    }
    video.srcObject = stream;
    running = true;
    say("Look at the camera…");
    step();
  }

  start.addEventListener("click", begin);
  say("Press Start when you are ready.");
})();
