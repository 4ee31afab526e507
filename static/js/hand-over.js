/*
 * The booth's hand-over page: read the buyer's receipt QR code with the phone's camera.
 *
 * "Scan with the camera" starts the back camera in [data-scan-video]; each frame is drawn on a
 * canvas and read with jsQR (static/vendor/jsqr). A code found fills the receipt-code box and sends
 * its form, so the server looks the sale up exactly as for a typed code. Without a camera, without
 * permission or without JavaScript, typing the code works the same.
 */
(function () {
  "use strict";

  var box = document.querySelector("[data-scanner]");
  var form = document.querySelector("[data-code-form]");
  if (!box || !form || !window.jsQR || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var startButton = box.querySelector("[data-scan-start]");
  var video = box.querySelector("[data-scan-video]");
  var statusEl = box.querySelector("[data-scan-status]");
  var input = form.querySelector("input[name=code]");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  box.hidden = false;

  function say(text) {
    statusEl.textContent = text;
  }

  // The receipt's QR code holds the hand-over URL (…?code=K7MQ4QXP); a plain code works too.
  function codeOf(text) {
    var match = /[?&]code=([0-9A-Za-z-]+)/.exec(text);
    return match ? match[1] : text;
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
  }

  function readFrame() {
    if (!stream) {
      return;
    }
    if (video.readyState >= 2 && video.videoWidth > 0) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) {
        stop();
        input.value = codeOf(found.data);
        say("Read " + input.value + ": looking it up…");
        form.submit();
        return;
      }
    }
    window.setTimeout(readFrame, 150);
  }

  startButton.addEventListener("click", function () {
    say("Starting the camera…");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        startButton.hidden = true;
        return video.play();
      })
      .then(function () {
        say("Point the camera at the buyer's receipt code.");
        readFrame();
      })
      .catch(function () {
        stop();
        say("The camera is not available here: type the code instead.");
      });
  });

  window.addEventListener("pagehide", stop);
})();
