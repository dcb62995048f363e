/// The dashboard's HTML (see `DashboardPage`).
enum DashboardHTML {
    static let text = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gateway dashboard</title>
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<header>
  <h1>gateway</h1>
  <span id="about" class="muted">connecting…</span>
  <span id="status" class="pill">offline</span>
</header>
<form id="login" hidden>
  <label>Admin token <input id="token" type="password" autocomplete="off" required></label>
  <button type="submit">Open</button>
  <span id="login-error" class="error"></span>
</form>
<main id="board" hidden>
  <section class="cards">
    <div class="card"><div class="label">WebSockets</div><div class="value" id="websockets">–</div><div class="sub" id="connections-sub"></div></div>
    <div class="card"><div class="label">opened / closed per s</div><div class="value" id="open-close">–</div><div class="sub" id="accepted-sub"></div></div>
    <div class="card"><div class="label">messages in / out per s</div><div class="value" id="messages">–</div><div class="sub" id="fanout-sub"></div></div>
    <div class="card"><div class="label">backend calls in flight</div><div class="value" id="inflight">–</div><div class="sub" id="calls-sub"></div></div>
    <div class="card"><div class="label">send queues</div><div class="value" id="queued">–</div><div class="sub" id="slow-sub"></div></div>
    <div class="card"><div class="label">hooks pending</div><div class="value" id="hooks">–</div><div class="sub" id="hooks-sub"></div></div>
  </section>
  <section class="charts">
    <figure><figcaption>WebSockets</figcaption><canvas id="chart-ws" width="560" height="150"></canvas></figure>
    <figure><figcaption>messages per second (in, out)</figcaption><canvas id="chart-msgs" width="560" height="150"></canvas></figure>
    <figure><figcaption>opened, closed per second</figcaption><canvas id="chart-conns" width="560" height="150"></canvas></figure>
    <figure><figcaption>backend p99 (ms, all routes)</figcaption><canvas id="chart-p99" width="560" height="150"></canvas></figure>
  </section>
  <section class="tables">
    <div>
      <h2>Backend calls per route <span class="muted">(last 60 s)</span></h2>
      <table id="routes"><thead><tr><th>module</th><th>route</th><th>calls/s</th><th>p50</th><th>p99</th><th>errors</th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Connections by module</h2>
      <table id="modules"><thead><tr><th>module</th><th>WebSockets</th></tr></thead><tbody></tbody></table>
      <h2>Loops</h2>
      <table id="loops"><thead><tr><th>loop</th><th>connections</th><th>WebSockets</th><th>queued</th><th>in flight</th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Closes by code <span class="muted">(last 60 s)</span></h2>
      <table id="closes"><thead><tr><th>code</th><th>count</th></tr></thead><tbody></tbody></table>
      <h2>Handshakes by status <span class="muted">(last 60 s)</span></h2>
      <table id="handshakes"><thead><tr><th>status</th><th>count</th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Cluster</h2>
      <div id="cluster" class="muted">single node</div>
    </div>
  </section>
</main>
<footer class="muted">Figures from <code>GET /v1/stream</code> on this admin listener, one frame per second; the last 10 minutes are kept in this tab.</footer>
</body>
</html>
"""#
}
