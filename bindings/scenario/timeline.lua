-- timeline.lua - a scenario's cases as HTML: an inline SVG timeline per case
-- (stages as bands, tasks as bars from creation to completion with late ones
-- marked, follow-ups and reviews as points, the risk level over time) and
-- the transcript below.  Compiled into the binary.
--
-- The chunk returns a function of one scenario's S (the prelude's record)
-- giving three strings: that scenario's section, and the page's head and
-- foot; scenario.c writes one head, every scenario's section, one foot.
--
-- Time: "now" is the scenario's end (S.now, the simulated clock when its
-- file finished).  A task done is late when it was done after its own due
-- date; a task still open is late when its due date is before the
-- scenario's end.  The stage the case is in ends at the scenario's end.
--
-- Layout: each SVG has a viewBox and scales to the window's width (no
-- sideways scroll on a 1024 px projector); its text is 16 units, about
-- 14 px at 1024 wide.  Task names wrap in a label column as wide as they
-- need (up to 30 characters a line); a stage's name goes inside its band
-- when it fits, else on a row below, staggered so names never overlap; the
-- full name is each band's tooltip.
local haven, S = ...

local function esc(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

local T = haven.time
local DAY = 86400
local COLORS = { "#dbe9f6", "#e3f1dd", "#fbeed5", "#f3dde9", "#e6e0f3", "#dff2f0",
  "#f6e2d8", "#eef0d8", "#e0e6ee", "#f4f4f4" }
local LEVELS = { "critical", "high", "medium", "low" }
local LEVEL_Y = { critical = 0, high = 1, medium = 2, low = 3 }
local COLOR = { done = "#43a047", open = "#a5d6a7", late = "#d32f2f", cancelled = "#bdbdbd" }
local W, RIGHT, FONT = 1100, 24, 16
local CHAR = 0.58 * FONT -- a generous average width of a character
local WRAP = 30          -- characters a line of a task's name

local function text_w(s) return utf8.len(s) and utf8.len(s) * CHAR or #s * CHAR end

-- Words of s in lines of at most n characters (a longer word alone).
local function wrap(s, n)
  local lines, cur = {}, ""
  for word in s:gmatch("%S+") do
    if cur == "" then cur = word
    elseif #cur + 1 + #word <= n then cur = cur .. " " .. word
    else lines[#lines + 1] = cur; cur = word end
  end
  if cur ~= "" then lines[#lines + 1] = cur end
  if #lines == 0 then lines[1] = "" end
  return lines
end

local function title_case(id)
  local s = tostring(id or "?"):gsub("_", " ")
  return (s:gsub("^%l", string.upper))
end

local function day(iso) return tostring(iso or "?"):sub(1, 10) end

-- A task's state at the scenario's end: "done", "late", "open" or "cancelled".
local function task_state(t, now)
  local due = T(t.due_at)
  if t.status == "cancelled" then return "cancelled" end
  if t.status == "done" then
    local done = t.done_at and T(t.done_at) or now
    return done > due and "late" or "done"
  end
  return now > due and "late" or "open"
end

-- Stage intervals from the case's history; the last ends at end_at.
local function stage_spans(file, t0, end_at)
  local stages, current, since = {}, file.history[1] and file.history[1].data.stage, t0
  for _, ev in ipairs(file.history) do
    local to = ev.data and ev.data.to
    if to and to ~= current then
      local at = T(ev.at)
      stages[#stages + 1] = { id = current, from = since, to = at }
      current, since = to, at
    end
  end
  stages[#stages + 1] = { id = current or file.stage.id, from = since, to = math.max(end_at, since) }
  return stages
end

local function timeline(n, ref, file, risk, now)
  local t0 = T(file.registered_at)
  local closed = file.closed_at and T(file.closed_at)
  local stages = stage_spans(file, t0, now)
  -- the chart runs from registration to the scenario's end, and on to the
  -- due dates of tasks still open then (so that their due marks show)
  local t_end = now
  for _, t in ipairs(file.tasks) do
    if t.status == "open" then t_end = math.max(t_end, T(t.due_at)) end
  end
  local span = math.max(t_end - t0, DAY)
  -- the label column: as wide as the longest line of a task's name
  local tasks, widest = {}, text_w("Follow-ups, reviews")
  for _, t in ipairs(file.tasks) do
    local lines = wrap((t.label or t.kind or "task"):gsub("_", " "), WRAP)
    tasks[#tasks + 1] = { t = t, lines = lines, state = task_state(t, now) }
    for _, l in ipairs(lines) do widest = math.max(widest, text_w(l)) end
  end
  table.sort(tasks, function(a, b)
    local ca, cb = T(a.t.created_at), T(b.t.created_at)
    if ca ~= cb then return ca < cb end
    return T(a.t.due_at) < T(b.t.due_at)
  end)
  local left = math.floor(widest + 24)
  local function x(t) return left + (t - t0) / span * (W - left - RIGHT) end

  -- stage names: inside the band when they fit, else on rows below it,
  -- each on the first row where it overlaps no other name
  local band_y, band_h, row_h = 8, 30, 22
  local rows, placed = {}, {}
  for i, s in ipairs(stages) do
    local x1, x2 = x(s.from), x(math.max(s.to, s.from + 3600))
    local name = title_case(s.id)
    local w = text_w(name)
    local p = { s = s, i = i, x1 = x1, x2 = x2, name = name, w = w }
    if w + 10 <= x2 - x1 then
      p.inside = true
    else
      local lx = math.min(math.max(x1, left), W - RIGHT - w)
      p.lx = lx
      for r = 1, 8 do
        rows[r] = rows[r] or {}
        local free = true
        for _, q in ipairs(rows[r]) do
          if lx < q[2] + 12 and lx + w + 12 > q[1] then free = false break end
        end
        if free then
          p.row = r
          rows[r][#rows[r] + 1] = { lx, lx + w }
          break
        end
      end
      p.row = p.row or #rows
    end
    placed[#placed + 1] = p
  end
  local top = band_y + band_h + #rows * row_h + 14
  local fu_y = top + 14
  local tasks_top = fu_y + 30
  local y = tasks_top
  for _, k in ipairs(tasks) do
    k.y = y
    k.h = math.max(1, #k.lines) * row_h + 4
    y = y + k.h
  end
  local risk_top = y + 40
  local risk_step = 24
  local axis_y = risk_top + 3 * risk_step + 36
  local H = axis_y + 34

  local out = {}
  local function add(s, ...) out[#out + 1] = string.format(s, ...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" class="timeline" ' ..
      'preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="%d" role="img" ' ..
      'aria-label="Timeline of case %s" data-check="svg-%d">', W, H, FONT, esc(ref), n)
  add('<rect width="%d" height="%d" fill="#ffffff"/>', W, H)
  -- ticks: days over a short chart, weeks over a few months, else months;
  -- labelled when there is room
  local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
  local ticks = {}
  if span <= 70 * DAY then
    local step = span <= 10 * DAY and DAY or 7 * DAY
    local first = T(file.registered_at:sub(1, 10)) + DAY
    for t = first, t_end, step do
      local iso = haven.iso(t)
      ticks[#ticks + 1] = { t = t, label = MONTHS[tonumber(iso:sub(6, 7))] .. " " .. tonumber(iso:sub(9, 10)) }
    end
  else
    local yy, mm = file.registered_at:match("^(%d+)-(%d+)")
    yy, mm = tonumber(yy), tonumber(mm)
    for _ = 1, 240 do
      mm = mm + 1
      if mm > 12 then mm, yy = 1, yy + 1 end
      local t = T(string.format("%04d-%02d-01", yy, mm))
      if t > t_end then break end
      ticks[#ticks + 1] = { t = t, label = MONTHS[mm] .. " " .. yy }
    end
  end
  local last_label = -1e9
  for _, k in ipairs(ticks) do
    local tx = x(k.t)
    add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>', tx, band_y, tx, axis_y - 16)
    local half = text_w(k.label) / 2
    if tx - last_label >= 2 * half + 12 and tx + half <= W and tx - half >= left - 10 then
      add('<text x="%.1f" y="%d" fill="#555" text-anchor="middle">%s</text>', tx, axis_y, k.label)
      last_label = tx
    end
  end
  -- the scenario's end
  local nx = x(now)
  add('<line class="now" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4 3"/>',
    nx, band_y, nx, axis_y - 16)
  if t_end > now then -- below the dates, under its line
    local lw = text_w("end of scenario")
    add('<text x="%.1f" y="%d" fill="#333" text-anchor="middle">end of scenario</text>',
      math.min(math.max(nx, left + lw / 2), W - RIGHT - lw / 2), axis_y + 24)
  end
  -- stages as bands
  add('<text x="8" y="%d" font-weight="bold">Stages</text>', band_y + 20)
  for _, p in ipairs(placed) do
    local s = p.s
    add('<rect class="stage" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" stroke="#999">' ..
        '<title>%s: %s to %s%s</title></rect>',
      p.x1, band_y, math.max(p.x2 - p.x1, 2), band_h, COLORS[(p.i - 1) % #COLORS + 1], esc(p.name),
      day(haven.iso(s.from)), day(haven.iso(s.to)), (s.to >= now and not closed) and " (still in it)" or "")
    if p.inside then
      add('<text class="stage-label" data-check="stage-%d-%d" x="%.1f" y="%d" fill="#333">%s<title>%s</title></text>',
        n, p.i, p.x1 + 5, band_y + 21, esc(p.name), esc(p.name))
    else
      local ly = band_y + band_h + p.row * row_h - 5
      add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>', (p.x1 + p.x2) / 2, band_y + band_h,
        (p.x1 + p.x2) / 2, ly - 14)
      add('<text class="stage-label" data-check="stage-%d-%d" x="%.1f" y="%d" fill="#333">%s<title>%s</title></text>',
        n, p.i, p.lx, ly, esc(p.name), esc(p.name))
    end
  end
  -- follow-ups and reviews as points
  add('<text x="8" y="%d" font-weight="bold">Follow-ups, reviews</text>', fu_y + 6)
  for _, f in ipairs(file.followups or {}) do
    local color = f.safety == "ok" and "#2e7d32" or f.safety == "concern" and "#ef6c00" or "#c62828"
    add('<circle class="followup" cx="%.1f" cy="%d" r="6" fill="%s"><title>follow-up %s: %s (%s)</title></circle>',
      x(T(f.at)), fu_y, color, esc(day(f.at)), esc(tostring(f.method):gsub("_", " ")), esc(f.safety))
  end
  for _, r in ipairs(file.reviews or {}) do
    local cx = x(T(r.at))
    add('<path class="review" d="M%.1f %d L%.1f %d L%.1f %d L%.1f %d Z" fill="#1565c0"><title>review %s: %s</title></path>',
      cx, fu_y - 9, cx + 8, fu_y, cx, fu_y + 9, cx - 8, fu_y, esc(day(r.at)), esc(tostring(r.outcome):gsub("_", " ")))
  end
  -- tasks as bars: done on time green, open and not yet due light green,
  -- late red, cancelled grey; the due date a black mark
  for i, k in ipairs(tasks) do
    local t = k.t
    local from, due = T(t.created_at), T(t.due_at)
    local to = t.done_at and T(t.done_at) or math.min(now, closed or now)
    local name = (t.label or t.kind or "task"):gsub("_", " ")
    add('<text class="task-label" x="8" y="%d" fill="#333">', k.y + 16)
    for j, l in ipairs(k.lines) do
      add('<tspan data-check="task-%d-%d-%d" x="8" dy="%d">%s</tspan>', n, i, j, j == 1 and 0 or row_h, esc(l))
    end
    add('<title>%s</title></text>', esc(name))
    local how = ({ done = "done on time", late = t.status == "done" and "done late" or "late",
                   open = "open, not yet due", cancelled = "cancelled" })[k.state]
    local late_class = k.state == "late" and "late" or k.state == "cancelled" and "cancelled" or "ontime"
    add('<rect class="task %s" data-state="%s" data-check="bar-%d-%d" x="%.1f" y="%d" width="%.1f" height="14" fill="%s" opacity="0.9">' ..
        '<title>%s: due %s, %s%s</title></rect>',
      late_class, k.state, n, i, x(from), k.y + 5, math.max(x(math.max(to, from)) - x(from), 3), COLOR[k.state],
      esc(name), day(t.due_at), how, t.done_at and (" on " .. day(t.done_at)) or "")
    add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2"/>', x(due), k.y + 1, x(due), k.y + 23)
  end
  -- risk over time, to the scenario's end
  add('<text x="8" y="%d" font-weight="bold">Risk</text>', risk_top - 14)
  for _, level in ipairs(LEVELS) do
    add('<text x="%d" y="%d" fill="#555" text-anchor="end">%s</text>', left - 10,
      risk_top + LEVEL_Y[level] * risk_step + 5, level)
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#f0f0f0"/>', left, risk_top + LEVEL_Y[level] * risk_step,
      W - RIGHT, risk_top + LEVEL_Y[level] * risk_step)
  end
  local pts, last = {}, nil
  for _, p in ipairs(risk or {}) do
    local py = risk_top + LEVEL_Y[p.level] * risk_step
    if last then pts[#pts + 1] = string.format("%.1f,%d", x(p.at), last) end
    pts[#pts + 1] = string.format("%.1f,%d", x(p.at), py)
    last = py
  end
  if last then pts[#pts + 1] = string.format("%.1f,%d", x(now), last) end
  if #pts > 0 then
    add('<polyline class="risk" points="%s" fill="none" stroke="#c62828" stroke-width="3"/>', table.concat(pts, " "))
  end
  for _, p in ipairs(risk or {}) do -- each change, visible even where the line is short
    add('<circle cx="%.1f" cy="%d" r="4" fill="#c62828"><title>risk %s from %s</title></circle>',
      x(p.at), risk_top + LEVEL_Y[p.level] * risk_step, esc(p.level), day(haven.iso(p.at)))
  end
  add('</svg>')
  return table.concat(out, "\n")
end

local HEAD = [[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s - Haven scenario</title>
<style>
body{font-family:sans-serif;margin:16px auto;padding:0 16px;max-width:1600px;color:#222;font-size:16px}
svg.timeline{display:block;width:100%%;height:auto;margin:8px 0 24px}
pre{background:#f7f7f7;padding:12px;font-size:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;padding:0;list-style:none}
.key{display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:6px}
section.scenario{border-top:2px solid #ccc;margin-top:24px}
</style></head><body>
<h1>%s</h1>
<ul class="legend" data-check="legend">
<li><span class="key" style="background:#43a047"></span>task done on time</li>
<li><span class="key" style="background:#a5d6a7"></span>task open, not yet due</li>
<li><span class="key" style="background:#d32f2f"></span>late task (done after its due date, or open past it)</li>
<li><span class="key" style="background:#bdbdbd"></span>cancelled task</li>
<li><span class="key" style="width:3px;background:#000"></span>due date</li>
<li><span style="color:#2e7d32">&#9679;</span> follow-up (green ok, orange concern, red urgent)</li>
<li><span style="color:#1565c0">&#9670;</span> review</li>
<li>&#8942; end of scenario</li>
</ul>
]]

return function(index, title)
  local parts = {}
  local now = S.now or 0
  if now == 0 then for _, l in ipairs(S.lines) do now = math.max(now, l.at or 0) end end
  parts[#parts + 1] = string.format('<section class="scenario" id="scenario-%d" data-check="scenario-%d">', index, index)
  parts[#parts + 1] = "<h2>" .. esc(S.name) .. "</h2>"
  parts[#parts + 1] = string.format("<p>%d expectation%s passed, %d failed; the scenario ends on %s.</p>",
    S.passed, S.passed == 1 and "" or "s", S.failed, day(haven.iso(now)))
  for i, ref in ipairs(S.cases) do
    local file = S.files and S.files[ref]
    if file then
      parts[#parts + 1] = "<h3>Case " .. esc(ref) .. "</h3>"
      parts[#parts + 1] = timeline(index * 100 + i, ref, file, S.risk[ref], now)
    end
  end
  parts[#parts + 1] = "<h3>Transcript</h3><pre>"
  for _, l in ipairs(S.lines) do
    parts[#parts + 1] = esc(string.format("%s  %-7s %s", haven.iso(l.at):sub(1, 16):gsub("T", " "), l.kind, l.text))
  end
  parts[#parts + 1] = "</pre></section>"
  local name = title or S.name
  return table.concat(parts, "\n"), string.format(HEAD, esc(name), esc(name)), "</body></html>\n"
end
