// Records a short clip from the camera with MediaRecorder, for pages/_app/recorder.py.
//
// Streamlit (Components v2) calls the default export when the component mounts and again when the
// data from Python changes, without running the previous call's cleanup; so one Recorder lives per
// mount (per parentElement) and is only reconfigured, and the cleanup Streamlit runs on unmount
// stops the camera. Only a recording the user keeps leaves this tab, as one trigger value
// ({mime, seconds, data: base64}); anything cancelled, too short, interrupted or never kept is
// dropped here.

const recorders = new WeakMap();

// Chromium and Firefox record WebM; Safari only MP4. All of them decode in the app (FFmpeg).
const MIME_TYPES = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm", "video/mp4"];
const BITS_PER_SECOND = 2_500_000; // 10 s is about 3 MB: quick to send, plenty for 224 px frames

const REFUSED =
  "Camera permission was refused. Allow the camera for this site (the icon in the address bar) " +
  "and press the button again, or upload a file instead.";
const NO_CAMERA = "No camera was found. Connect one and press the button again, or upload a file instead.";
const BUSY = "The camera could not be started: another application may be using it.";
const LOST = "The camera stopped: nothing was kept. Try again.";
const CAMERA_ERRORS = {
  NotAllowedError: REFUSED,
  SecurityError: REFUSED,
  NotFoundError: NO_CAMERA,
  OverconstrainedError: NO_CAMERA,
  NotReadableError: BUSY,
  AbortError: BUSY,
};

function supportedMimeType() {
  return MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

class Recorder {
  constructor(parentElement) {
    this.root = parentElement.querySelector(".recorder");
    this.live = this.root.querySelector(".live");
    this.preview = this.root.querySelector(".preview");
    this.countdownText = this.root.querySelector(".countdown");
    this.timerText = this.root.querySelector(".timer");
    this.messageText = this.root.querySelector(".message");
    this.buttons = {};
    for (const button of this.root.querySelectorAll("button[data-action]")) {
      this.buttons[button.dataset.action] = button;
    }
    this.buttons.start.addEventListener("click", () => this.start());
    this.buttons.stop.addEventListener("click", () => this.stop("user"));
    this.buttons.keep.addEventListener("click", () => this.keep());
    this.buttons.retake.addEventListener("click", () => this.start());
    this.onPageHide = () => this.dispose();
    window.addEventListener("pagehide", this.onPageHide); // tab closed: nothing half-recorded stays
    this.stream = null;
    this.mediaRecorder = null;
    this.timers = [];
    this.clip = null; // {blob, url, mime, seconds} under review
    this.setState("idle");
  }

  configure(data, setTriggerValue) {
    this.options = {
      label: data.label,
      maxSeconds: data.max_seconds,
      minSeconds: data.min_seconds,
      countdownSeconds: data.countdown_s,
    };
    this.setTriggerValue = setTriggerValue;
    this.buttons.start.textContent = this.state === "kept" ? "Record another" : this.options.label;
  }

  setState(state, message = "", isError = false) {
    this.state = state;
    this.root.dataset.state = state;
    this.messageText.textContent = message;
    this.messageText.classList.toggle("error", isError);
  }

  fail(message) {
    this.releaseCamera();
    this.dropClip();
    this.buttons.start.textContent = this.options.label;
    this.setState("idle", message, true);
  }

  async start() {
    this.dropClip();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.fail("This page cannot reach a camera: browsers allow it only on HTTPS pages or on localhost.");
      return;
    }
    if (typeof MediaRecorder === "undefined") {
      this.fail("This browser cannot record video: upload a file instead.");
      return;
    }
    this.setState("starting", "Starting the camera…");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (error) {
      this.fail(CAMERA_ERRORS[error.name] || `The camera could not be started (${error.name}).`);
      return;
    }
    if (this.state !== "starting") {
      this.releaseCamera(); // disposed while the browser asked for permission
      return;
    }
    const [track] = this.stream.getVideoTracks();
    track.addEventListener("ended", () => this.stop("camera lost"));
    this.live.srcObject = this.stream;
    this.live.play().catch(() => {}); // the recording does not depend on the live view playing
    this.countdown(this.options.countdownSeconds);
  }

  countdown(seconds) {
    this.setState("countdown", "Get ready…");
    this.countdownText.textContent = String(seconds);
    const tick = setInterval(() => {
      seconds -= 1;
      if (seconds > 0) {
        this.countdownText.textContent = String(seconds);
      } else {
        clearInterval(tick);
        this.record();
      }
    }, 1000);
    this.timers.push(tick);
  }

  record() {
    const mime = supportedMimeType();
    const chunks = [];
    let recorder;
    try {
      recorder = new MediaRecorder(this.stream, {
        ...(mime ? { mimeType: mime } : {}),
        videoBitsPerSecond: BITS_PER_SECOND,
      });
    } catch (error) {
      this.fail(`This browser cannot record from the camera (${error.name}).`);
      return;
    }
    this.mediaRecorder = recorder;
    this.stopReason = null;
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    });
    recorder.addEventListener("error", (event) => this.stop(`error: ${event.error?.name || "unknown"}`));
    recorder.addEventListener("start", () => {
      this.startedAt = performance.now();
      this.setState("recording", `Recording: up to ${this.options.maxSeconds} s. Press Stop when done.`);
      const update = () => {
        const seconds = (performance.now() - this.startedAt) / 1000;
        this.timerText.textContent = `● ${seconds.toFixed(1)} s / ${this.options.maxSeconds} s`;
      };
      update();
      this.timers.push(setInterval(update, 100));
      this.timers.push(setTimeout(() => this.stop("limit"), this.options.maxSeconds * 1000));
    });
    recorder.addEventListener("stop", () => {
      const stoppedAt = this.stoppedAt || performance.now();
      const seconds = this.startedAt ? (stoppedAt - this.startedAt) / 1000 : 0;
      this.finish(this.stopReason, new Blob(chunks, { type: recorder.mimeType || mime }), seconds);
    });
    this.startedAt = this.stoppedAt = null;
    recorder.start(250); // in slices, so that a stop at any moment has the data so far
  }

  stop(reason) {
    this.clearTimers();
    if (this.mediaRecorder) {
      // finish() follows, from the recorder's stop event (a recorder that failed stops by itself)
      this.stopReason = reason;
      this.stoppedAt = this.stoppedAt || performance.now(); // the footage ends here, not at the event
      if (this.mediaRecorder.state !== "inactive") this.mediaRecorder.stop();
    } else if (reason === "camera lost") {
      this.fail(LOST);
    } else if (this.state === "countdown" || this.state === "starting") {
      this.releaseCamera();
      this.setState("idle", reason === "user" ? "Cancelled: nothing was recorded." : "");
    }
  }

  finish(reason, blob, seconds) {
    this.mediaRecorder = null;
    this.releaseCamera();
    if (reason === "disposed") return;
    if (reason === "camera lost") {
      this.fail(LOST);
    } else if (reason && reason.startsWith("error")) {
      this.fail(`The recording failed (${reason}): nothing was kept. Try again.`);
    } else if (seconds < this.options.minSeconds || blob.size === 0) {
      this.fail(`Too short: record at least ${this.options.minSeconds} s.`);
    } else {
      const url = URL.createObjectURL(blob);
      this.clip = { blob, url, mime: blob.type, seconds };
      this.preview.src = url;
      const limit = reason === "limit" ? `Stopped at the ${this.options.maxSeconds} s limit. ` : "";
      this.setState("review", `${limit}Recorded ${seconds.toFixed(1)} s: keep it, or retake.`);
    }
  }

  keep() {
    const clip = this.clip;
    if (!clip) return;
    this.setState("sending", "Sending the clip to the app…");
    const reader = new FileReader();
    reader.addEventListener("load", () => {
      const data = String(reader.result).split(",", 2)[1] || "";
      this.setTriggerValue("recording", { mime: clip.mime, seconds: clip.seconds, data });
      this.dropClip();
      this.buttons.start.textContent = "Record another";
      this.setState("kept", `Kept: a ${clip.seconds.toFixed(1)} s clip.`);
    });
    reader.addEventListener("error", () => this.fail("The recording could not be read. Try again."));
    reader.readAsDataURL(clip.blob);
  }

  clearTimers() {
    for (const timer of this.timers) clearInterval(timer); // clears timeouts too
    this.timers = [];
  }

  releaseCamera() {
    this.clearTimers();
    if (this.stream) {
      for (const track of this.stream.getTracks()) track.stop();
    }
    this.stream = null;
    this.live.srcObject = null;
  }

  dropClip() {
    if (this.clip) URL.revokeObjectURL(this.clip.url);
    this.clip = null;
    this.preview.removeAttribute("src");
  }

  dispose() {
    window.removeEventListener("pagehide", this.onPageHide);
    this.stop("disposed");
    this.releaseCamera();
    this.dropClip();
    this.state = "disposed";
  }
}

export default function mount({ parentElement, data, setTriggerValue }) {
  let recorder = recorders.get(parentElement);
  if (!recorder) {
    recorder = new Recorder(parentElement);
    recorders.set(parentElement, recorder);
  }
  recorder.configure(data, setTriggerValue);
  return () => {
    recorder.dispose();
    recorders.delete(parentElement);
  };
}
