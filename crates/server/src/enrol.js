// Webcam enrolment: shows the camera, asks the server whether each frame
// is good and how the head is turned (live guidance), collects three good
// views (straight, a little to one side, a little to the other) and sends
// them for enrolment. Frames exist only in this page's memory.
(function () {
  "use strict";
  const root = document.getElementById("enrol");
  const video = document.getElementById("camera");
  const guidance = document.getElementById("guidance");
  const start = document.getElementById("start");
  const csrf = root.dataset.csrf;
  // The views a set is made of; each asked for in turn.
  const views = [
    { ask: "Look straight at the camera", fits: (yaw) => Math.abs(yaw) < 8 },
    { ask: "Turn your head a little to one side", fits: (yaw) => Math.abs(yaw) >= 8 && Math.abs(yaw) <= 30 },
    { ask: "Now a little to the other side", fits: (yaw) => Math.abs(yaw) >= 8 && Math.abs(yaw) <= 30 && Math.sign(yaw) !== side },
  ];
  const wanted = views.length;
  // Good frames of another view than the one asked for, after which a good
  // frame is taken anyway: not everyone can turn, and straight views still
  // enrol.
  const patience = 6;
  let good = [];
  let side = 0;
  let misses = 0;
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
      const yaw = check.data.yaw_deg || 0;
      if (views[good.length].fits(yaw) || misses >= patience) {
        if (good.length === 1) side = Math.sign(yaw);
        good.push(blob);
        misses = 0;
        say("Good (" + good.length + " of " + wanted + ")" + (good.length < wanted ? ". " + views[good.length].ask + "." : ""));
      } else {
        misses += 1;
        say(views[good.length].ask + ".");
      }
    } else {
      say(check.data.advice.join(", "));
    }
    if (good.length < wanted) { setTimeout(step, 400); return; }
    say("Making your facial vector…");
    const result = await post("/account/face", good);
    good = [];
    side = 0;
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
    say(views[0].ask + "…");
    step();
  }

  start.addEventListener("click", begin);
  say("Press Start when you are ready.");
})();
