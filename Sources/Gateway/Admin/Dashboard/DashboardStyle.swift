/// The dashboard's style sheet (see `DashboardPage`).
enum DashboardStyle {
    static let text = #"""
:root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ec; --bg: #f7f8fa; --card: #fff; --in: #2a6fdb; --out: #1f9d55; --bad: #c0392b; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.2rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: .95rem; margin: .8rem 0 .4rem; }
.muted { color: var(--muted); font-weight: normal; }
.pill { margin-left: auto; padding: .1rem .6rem; border-radius: 1rem; background: #eee; font-size: .8rem; }
.pill.live { background: #dff5e7; color: #157a3d; }
.pill.bad { background: #fbe3e1; color: var(--bad); }
form#login { padding: 2rem 1.2rem; display: flex; gap: .6rem; align-items: center; }
.error { color: var(--bad); }
main { padding: 1rem 1.2rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: .8rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; }
.card .label { color: var(--muted); font-size: .8rem; }
.card .value { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
.card .sub { color: var(--muted); font-size: .8rem; min-height: 1.1em; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: .8rem; margin-top: .8rem; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem; }
figcaption { color: var(--muted); font-size: .8rem; }
canvas { width: 100%; height: 150px; }
.tables { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: .8rem; margin-top: .4rem; }
.tables > div { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .2rem .8rem .8rem; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: normal; font-size: .8rem; }
td.num { text-align: right; }
footer { padding: .6rem 1.2rem 1.2rem; font-size: .8rem; }
"""#
}
