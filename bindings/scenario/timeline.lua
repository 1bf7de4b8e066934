-- timeline.lua - a scenario's cases as a self-contained HTML page: an inline
-- SVG timeline per case (stages as bands, tasks as bars from creation to
-- completion with late ones marked, follow-ups and reviews as points, the
-- risk level over time) and the transcript below.  Compiled into the binary.
local haven, S = ...

local function esc(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

local T = haven.time
local COLORS = { "#dbe9f6", "#e3f1dd", "#fbeed5", "#f3dde9", "#e6e0f3", "#dff2f0",
  "#f6e2d8", "#eef0d8", "#e0e6ee", "#f4f4f4" }
local LEVEL_Y = { low = 3, medium = 2, high = 1, critical = 0 }

local function timeline(ref, file, risk, t_end)
  local t0 = T(file.registered_at)
  -- stage intervals from the history
  local stages, current, since = {}, file.history[1] and file.history[1].data.stage, t0
  for _, ev in ipairs(file.history) do
    local to = ev.data and ev.data.to
    if to and to ~= current then
      local at = T(ev.at)
      stages[#stages + 1] = { id = current, from = since, to = at }
      current, since = to, at
    end
  end
  stages[#stages + 1] = { id = current or file.stage.id, from = since, to = t_end }
  for _, t in ipairs(file.tasks) do
    t_end = math.max(t_end, T(t.due_at), t.done_at and T(t.done_at) or 0)
  end
  local span = math.max(t_end - t0, 86400)
  local W, left, right = 1100, 230, 20
  local function x(t) return left + (t - t0) / span * (W - left - right) end
  local tasks = {}
  for _, t in ipairs(file.tasks) do tasks[#tasks + 1] = t end
  table.sort(tasks, function(a, b) return T(a.created_at) < T(b.created_at) end)
  local row_h, top = 16, 96
  local risk_top = top + #tasks * row_h + 40
  local H = risk_top + 4 * 18 + 40
  local out = {}
  local function add(s, ...) out[#out + 1] = string.format(s, ...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11" role="img" aria-label="Timeline of %s">', W, H, esc(ref))
  add('<rect width="%d" height="%d" fill="#ffffff"/>', W, H)
  -- month ticks
  local y, m = file.registered_at:match("^(%d+)-(%d+)")
  y, m = tonumber(y), tonumber(m)
  for _ = 1, 60 do
    m = m + 1
    if m > 12 then m, y = 1, y + 1 end
    local t = T(string.format("%04d-%02d-01", y, m))
    if t > t_end then break end
    add('<line x1="%.1f" y1="20" x2="%.1f" y2="%d" stroke="#e5e5e5"/>', x(t), x(t), H - 20)
    add('<text x="%.1f" y="%d" fill="#777">%04d-%02d</text>', x(t) + 2, H - 6, y, m)
  end
  -- stages as bands
  add('<text x="8" y="44" font-weight="bold">Stages</text>')
  for i, s in ipairs(stages) do
    local x1, x2 = x(s.from), x(math.max(s.to, s.from + 3600))
    add('<rect class="stage" x="%.1f" y="28" width="%.1f" height="26" fill="%s" stroke="#999"><title>%s</title></rect>',
      x1, math.max(x2 - x1, 2), COLORS[(i - 1) % #COLORS + 1], esc(s.id))
    add('<text x="%.1f" y="45" fill="#333">%s</text>', x1 + 3, esc(s.id:gsub("_", " ")))
  end
  -- follow-ups and reviews as points
  add('<text x="8" y="78" font-weight="bold">Follow-ups, reviews</text>')
  for _, f in ipairs(file.followups or {}) do
    local color = f.safety == "ok" and "#2e7d32" or f.safety == "concern" and "#ef6c00" or "#c62828"
    add('<circle class="followup" cx="%.1f" cy="74" r="5" fill="%s"><title>follow-up %s: %s (%s)</title></circle>',
      x(T(f.at)), color, esc(f.at), esc(f.method), esc(f.safety))
  end
  for _, r in ipairs(file.reviews or {}) do
    local cx = x(T(r.at))
    add('<path class="review" d="M%.1f 66 L%.1f 74 L%.1f 82 L%.1f 74 Z" fill="#1565c0"><title>review %s: %s</title></path>',
      cx, cx + 7, cx, cx - 7, esc(r.at), esc(r.outcome))
  end
  -- tasks as bars, late ones red
  for i, t in ipairs(tasks) do
    local ty = top + (i - 1) * row_h
    local from, due = T(t.created_at), T(t.due_at)
    local to = t.done_at and T(t.done_at) or t_end
    local late = (t.status == "done" and to > due) or (t.status == "open" and t_end > due)
    local color = t.status == "cancelled" and "#bdbdbd" or late and "#d32f2f" or "#43a047"
    add('<text x="8" y="%d" fill="#333">%s</text>', ty + 11, esc((t.label or t.kind):sub(1, 34)))
    add('<rect class="task %s" x="%.1f" y="%d" width="%.1f" height="11" fill="%s" opacity="0.85"><title>%s: due %s, %s%s</title></rect>',
      late and "late" or "ontime", x(from), ty + 2, math.max(x(to) - x(from), 2), color,
      esc(t.label or t.kind), esc(t.due_at), esc(t.status), late and " (late)" or "")
    add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2"/>', x(due), ty, x(due), ty + 14)
  end
  -- risk over time
  add('<text x="8" y="%d" font-weight="bold">Risk</text>', risk_top - 6)
  for level, k in pairs(LEVEL_Y) do
    add('<text x="160" y="%d" fill="#777">%s</text>', risk_top + k * 18 + 4, level)
  end
  local pts, last = {}, nil
  for _, p in ipairs(risk or {}) do
    local py = risk_top + LEVEL_Y[p.level] * 18
    if last then pts[#pts + 1] = string.format("%.1f,%d", x(p.at), last) end
    pts[#pts + 1] = string.format("%.1f,%d", x(p.at), py)
    last = py
  end
  if last then pts[#pts + 1] = string.format("%.1f,%d", x(t_end), last) end
  if #pts > 0 then
    add('<polyline class="risk" points="%s" fill="none" stroke="#c62828" stroke-width="2.5"/>', table.concat(pts, " "))
  end
  add('</svg>')
  return table.concat(out, "\n")
end

return function()
  local parts = {}
  local t_end = 0
  for _, l in ipairs(S.lines) do t_end = math.max(t_end, l.at or 0) end
  parts[#parts + 1] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
  parts[#parts + 1] = "<title>" .. esc(S.name) .. " - Haven scenario</title>"
  parts[#parts + 1] = "<style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f7f7f7;padding:12px;font-size:12px}" ..
    ".legend span{display:inline-block;margin-right:16px}.ok{color:#43a047}.late{color:#d32f2f}</style></head><body>"
  parts[#parts + 1] = "<h1>" .. esc(S.name) .. "</h1>"
  parts[#parts + 1] = string.format("<p>%d expectations passed, %d failed.</p>", S.passed, S.failed)
  parts[#parts + 1] = '<p class="legend"><span class="ok">&#9632; task done on time</span><span class="late">&#9632; late task</span>' ..
    '<span>&#9679; follow-up (green ok, orange concern, red urgent)</span><span>&#9670; review</span><span>| due date</span></p>'
  for _, ref in ipairs(S.cases) do
    local file = S.files and S.files[ref]
    if file then
      parts[#parts + 1] = "<h2>Case " .. esc(ref) .. "</h2>"
      parts[#parts + 1] = timeline(ref, file, S.risk[ref], t_end)
    end
  end
  parts[#parts + 1] = "<h2>Transcript</h2><pre>"
  for _, l in ipairs(S.lines) do
    parts[#parts + 1] = esc(string.format("%s  %-7s %s", haven.iso(l.at):sub(1, 16):gsub("T", " "), l.kind, l.text))
  end
  parts[#parts + 1] = "</pre></body></html>"
  return table.concat(parts, "\n")
end
