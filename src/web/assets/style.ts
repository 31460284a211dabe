// The dashboard's stylesheet, served at /_/style.css. No fonts or images from
// elsewhere: system fonts, and colours that follow the OS light/dark setting.
export const STYLE = String.raw`
:root {
  --bg: #f7f8fa; --panel: #ffffff; --text: #1d2330; --muted: #5f6b7a; --line: #e3e7ee;
  --accent: #3b5bdb; --accent-soft: #e8edff; --ok: #2f9e44; --ok-soft: #e6f6ea;
  --err: #c92a2a; --err-soft: #fdecec; --warn: #e67700; --code: #f3f5f9;
  --radius: 10px; --shadow: 0 1px 2px rgba(20, 30, 50, .06), 0 2px 8px rgba(20, 30, 50, .04);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151b; --panel: #1a1f27; --text: #e6e9ef; --muted: #9aa5b4; --line: #2a313c;
    --accent: #8ea2ff; --accent-soft: #232b45; --ok: #69db7c; --ok-soft: #1d3324;
    --err: #ff8787; --err-soft: #3a2020; --warn: #ffc078; --code: #151a21;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.5;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-radius: 4px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .92em; }
.skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: 1rem; }

header.top {
  display: flex; align-items: center; gap: 1.5rem; padding: .8rem 1.5rem;
  background: var(--panel); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5;
}
.brand { display: flex; align-items: center; gap: .5rem; font-weight: 700; font-size: 1.25rem; color: var(--text); }
.brand:hover { text-decoration: none; }
.brand svg { width: 26px; height: 26px; }
nav.main { display: flex; gap: .25rem; }
nav.main a { padding: .35rem .75rem; border-radius: 8px; color: var(--muted); font-weight: 500; }
nav.main a:hover { background: var(--accent-soft); color: var(--accent); text-decoration: none; }
nav.main a[aria-current="page"] { background: var(--accent-soft); color: var(--accent); }
.live { margin-left: auto; font-size: .85rem; color: var(--muted); display: flex; align-items: center; gap: .4rem; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--muted); }
.live.on::before { background: var(--ok); box-shadow: 0 0 0 3px var(--ok-soft); }
.live.off::before { background: var(--warn); }

main { max-width: 1100px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: .2rem 0 1rem; word-break: break-all; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 .7rem; }
h3 { font-size: 1rem; margin: 0; }
.sub { color: var(--muted); margin: -.6rem 0 1.2rem; }
.row { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
.spacer { flex: 1; }

.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow); }
.pad { padding: 1rem 1.2rem; }

input[type=search], input[type=text], input[type=number], select, textarea {
  font: inherit; color: var(--text); background: var(--panel);
  border: 1px solid var(--line); border-radius: 8px; padding: .5rem .7rem; width: 100%;
}
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; min-height: 8rem; resize: vertical; }
input:focus, select:focus, textarea:focus { border-color: var(--accent); outline: 2px solid var(--accent-soft); }
label { display: block; font-weight: 600; font-size: .85rem; margin: .8rem 0 .3rem; color: var(--muted); }
.search { font-size: 1.05rem; padding: .7rem 1rem; margin-bottom: 1rem; }

button, .button {
  font: inherit; font-weight: 600; cursor: pointer; border-radius: 8px; padding: .5rem 1.1rem;
  border: 1px solid var(--accent); background: var(--accent); color: #fff;
}
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .6; cursor: progress; }
.hint { color: var(--muted); font-size: .82rem; }
kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 .3rem; font-size: .8rem; background: var(--panel); }

table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .55rem .8rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: var(--accent-soft); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.wrap { word-break: break-all; }

.badge {
  display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .78rem; font-weight: 600;
  background: var(--code); color: var(--muted); border: 1px solid var(--line); margin: .1rem .2rem .1rem 0;
}
.badge.ok { background: var(--ok-soft); color: var(--ok); border-color: transparent; }
.badge.web { background: var(--accent-soft); color: var(--accent); border-color: transparent; }
.chip { display: inline-block; font-size: .78rem; padding: .05rem .45rem; margin: .1rem .25rem .1rem 0; border-radius: 6px; background: var(--code); border: 1px solid var(--line); }
.chip b { font-weight: 600; color: var(--muted); }

.apps { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .8rem; }
.app { display: flex; flex-direction: column; align-items: center; gap: .5rem; padding: 1.1rem .8rem; text-align: center; color: var(--text); }
.app:hover { border-color: var(--accent); text-decoration: none; }
.app .icon {
  width: 52px; height: 52px; border-radius: 14px; display: grid; place-items: center; font-size: 1.5rem; font-weight: 700;
  background: var(--accent-soft); color: var(--accent);
}
.app .name { font-weight: 600; }
.app .meta { color: var(--muted); font-size: .82rem; }

.empty { padding: 2rem; text-align: center; color: var(--muted); }
.empty code { background: var(--code); padding: .15rem .4rem; border-radius: 5px; }

.versions { display: grid; gap: 1rem; }
.endpoints { display: grid; gap: .8rem; }
details.endpoint > summary {
  cursor: pointer; list-style: none; display: flex; gap: .7rem; align-items: center; padding: .8rem 1.1rem; font-weight: 600;
}
details.endpoint > summary::-webkit-details-marker { display: none; }
details.endpoint > summary::before { content: "▸"; color: var(--muted); transition: transform .15s; }
details.endpoint[open] > summary::before { transform: rotate(90deg); }
details.endpoint > .body { padding: 0 1.1rem 1.1rem; }
.shapes { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; }
@media (max-width: 720px) { .shapes { grid-template-columns: 1fr; } }
.shape h4 { margin: .3rem 0; font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin: 0; overflow: auto; tab-size: 4; -moz-tab-size: 4; }

details.cli { margin-top: .8rem; }
details.cli > summary { cursor: pointer; color: var(--muted); }
details.cli > pre { margin: 0 1rem 1rem; }
.call { margin-top: 1rem; border-top: 1px dashed var(--line); padding-top: .8rem; }
.call .actions { display: flex; gap: .6rem; align-items: center; margin-top: .6rem; flex-wrap: wrap; }
.result { margin-top: .8rem; }
.result .status { font-size: .85rem; font-weight: 600; margin-bottom: .3rem; display: flex; gap: .6rem; align-items: center; }
.result.ok pre { border-color: var(--ok); }
.result.ok .status { color: var(--ok); }
.result.error pre { border-color: var(--err); background: var(--err-soft); }
.result.error .status { color: var(--err); }
.error-box { border: 1px solid var(--err); background: var(--err-soft); color: var(--err); border-radius: 8px; padding: .7rem 1rem; margin: 1rem 0; }

.client { display: grid; grid-template-columns: minmax(260px, 5fr) 7fr; gap: 1.2rem; align-items: start; }
@media (max-width: 820px) { .client { grid-template-columns: 1fr; } }
.client pre { min-height: 18rem; }

.flash { animation: flash 2.5s ease-out; }
@keyframes flash { from { background: var(--ok-soft); } to { background: transparent; } }

#toasts { position: fixed; right: 1rem; bottom: 1rem; display: grid; gap: .5rem; z-index: 20; max-width: min(420px, calc(100vw - 2rem)); }
.toast { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 8px; padding: .6rem .9rem; box-shadow: var(--shadow); font-size: .9rem; }
.toast.gone { border-left-color: var(--warn); }

footer { max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; color: var(--muted); font-size: .82rem; }
[hidden] { display: none !important; }
`;
