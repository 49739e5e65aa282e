/* 通办 hall display (/desk/hall/display): asks /api/hall/display every few seconds and
   redraws the latest call, the last calls and the number waiting per window type.
   No library, nothing from a CDN. The page is complete without it (rendered by the
   server); this file only keeps it current. */
(function () {
  "use strict";
  var root = document.body;
  var source = root.getAttribute("data-source") || "/api/hall/display";
  var every = Math.max(parseInt(root.getAttribute("data-poll-ms"), 10) || 3000, 1000);
  var names = JSON.parse(root.getAttribute("data-window-types") || "{}");
  var now = document.getElementById("display-now");
  var announce = document.getElementById("announce");
  var calls = document.getElementById("calls-body");
  var waiting = document.getElementById("waiting-body");
  var clock = document.getElementById("display-clock");
  var link = document.getElementById("display-link");
  var speakButton = document.getElementById("speak");
  var lastKey = now ? now.getAttribute("data-key") : "";
  // the station's clock, not the screen's own (a hall TV's clock may be wrong): the
  // offset is learnt from the page and from every answer's `now`
  var offset = 0;
  var speaking = false;

  function hhmm(iso, seconds) {
    if (!iso) return "";
    var options = { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false };
    if (seconds) options.second = "2-digit";
    return new Date(iso).toLocaleTimeString("zh-CN", options);
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
  }

  function sentence(call) {
    return "请 " + call.ticket_no + " 号到 " + call.window + " 号窗口办理";
  }

  function say(call) {
    if (!speaking || !window.speechSynthesis) return;
    var words = "请" + call.ticket_no.split("").join(" ") + "号，到" + call.window + "号窗口办理";
    var utterance = new SpeechSynthesisUtterance(words);
    utterance.lang = "zh-CN";
    utterance.rate = 0.85;
    window.speechSynthesis.speak(utterance);
  }

  function waitingRows(data) {
    var list = data.waiting || [];
    if (!Array.isArray(list)) {  // {A: 3, B: 0}
      list = Object.keys(list).sort().map(function (code) { return { window_type: code, waiting: list[code] }; });
    }
    return list;
  }

  function draw(data) {
    var list = data.calls || [];
    var latest = list[0];
    var key = latest ? latest.ticket_no + "|" + latest.window + "|" + latest.called_at : "";
    if (latest) {
      announce.className = "announce";
      announce.innerHTML = "";
      announce.appendChild(document.createTextNode("请 "));
      var num = document.createElement("span"); num.className = "num"; num.textContent = latest.ticket_no;
      announce.appendChild(num);
      announce.appendChild(document.createTextNode(" 号到 "));
      var win = document.createElement("span"); win.className = "win"; win.textContent = latest.window;
      announce.appendChild(win);
      announce.appendChild(document.createTextNode(" 号窗口办理"));
      announce.setAttribute("aria-label", sentence(latest));
    } else {
      announce.className = "announce empty";
      announce.textContent = "欢迎光临，请取号后留意叫号";
    }
    if (key !== lastKey) {
      now.classList.remove("fresh");
      void now.offsetWidth;  // restart the animation
      if (latest && lastKey !== null) { now.classList.add("fresh"); say(latest); }
      lastKey = key;
      now.setAttribute("data-key", key);
    }
    calls.innerHTML = "";
    if (!list.length) {
      var empty = document.createElement("tr");
      cell(empty, "暂无叫号", "");
      empty.firstChild.colSpan = 3;
      calls.appendChild(empty);
    }
    list.forEach(function (call) {
      var row = document.createElement("tr");
      cell(row, call.ticket_no, "num");
      cell(row, call.window + " 号窗口", "");
      cell(row, hhmm(call.called_at), "");
      calls.appendChild(row);
    });
    waiting.innerHTML = "";
    waitingRows(data).forEach(function (line) {
      var row = document.createElement("tr");
      var code = line.window_type;
      cell(row, code + " " + (line.name || names[code] || ""), "");
      cell(row, String(line.waiting), "n");
      waiting.appendChild(row);
    });
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", source, true);
    request.setRequestHeader("Accept", "application/json");
    request.timeout = Math.max(every - 200, 1000);
    request.onload = function () {
      if (request.status === 200) {
        try {
          var data = JSON.parse(request.responseText);
          learnClock(data.now);
          draw(data);
          tick();
          link.textContent = "已更新 " + hhmm(new Date(Date.now() + offset).toISOString(), true);
          link.className = "";
        } catch (error) {
          offline();
        }
      } else {
        offline();
      }
      setTimeout(poll, every);
    };
    request.onerror = request.ontimeout = function () { offline(); setTimeout(poll, every); };
    request.send();
  }

  function offline() {
    link.textContent = "连接中断，正在重试…（显示的是最近一次的信息）";
    link.className = "offline";
  }

  function learnClock(iso) {
    var when = Date.parse(iso || "");
    if (!isNaN(when)) offset = when - Date.now();
  }

  function tick() {
    clock.textContent = hhmm(new Date(Date.now() + offset).toISOString(), true);
  }

  if (speakButton) {
    if (!window.speechSynthesis) {
      speakButton.hidden = true;
    } else {
      speakButton.addEventListener("click", function () {
        speaking = !speaking;
        speakButton.textContent = speaking ? "关闭语音播报" : "开启语音播报";
        speakButton.setAttribute("aria-pressed", speaking ? "true" : "false");
      });
    }
  }
  learnClock(root.getAttribute("data-now"));
  tick();
  setInterval(tick, 1000);
  setTimeout(poll, every);
}());
