-- include.lua - pandoc filter for the man pages (docs/man/*.md): a div
--   ::: {.include file="README.md" section="Signals" as="SIGNALS" intro="yes"}
--   :::
-- becomes that section of the file (path relative to the source tree's root, the directory
-- above docs/): its body, under a level-1 heading `as` (none when `as` is absent), its
-- sub-headings one level below. intro="yes" keeps only the text before the first sub-heading.
-- Links into the tree or to anchors become their text (a man page has no other files), and
-- a section that is not there stops the build, so a renamed heading cannot go unnoticed.
-- Owner: docs (docs/man/).

local root = nil

local function source_root()
  if root then return root end
  local input = PANDOC_STATE.input_files[1]
  local dir = input:match("^(.*)/[^/]*$") or "."
  root = dir .. "/../.."
  return root
end

local function read_doc(name)
  local path = source_root() .. "/" .. name
  local f = io.open(path, "r")
  if not f then error("include.lua: cannot read " .. path) end
  local text = f:read("a")
  f:close()
  return pandoc.read(text, "gfm")  -- the docs are written for GitHub
end

local function flatten_link(link)
  local t = link.target
  if t:match("^https?:") or t:match("^mailto:") then return nil end
  return link.content
end

local function extract(doc, section, intro, file)
  local out, level, found = {}, nil, false
  for _, block in ipairs(doc.blocks) do
    if level then
      if block.t == "Header" and block.level <= level then break end
      if intro and block.t == "Header" then break end
      table.insert(out, block)
    elseif block.t == "Header" and pandoc.utils.stringify(block.content) == section then
      level, found = block.level, true
    end
  end
  if not found then error("include.lua: " .. file .. " has no section \"" .. section .. "\"") end
  return out, level
end

function Div(div)
  if not div.classes:includes("include") then return nil end
  local file, section = div.attributes["file"], div.attributes["section"]
  local as, intro = div.attributes["as"], div.attributes["intro"] == "yes"
  local blocks, level = extract(read_doc(file), section, intro, file)
  local result = {}
  if as then table.insert(result, pandoc.Header(1, as)) end
  for _, b in ipairs(blocks) do
    if b.t == "Header" then
      -- The section's own sub-headings become .SS, deeper ones stay below that.
      b.level = math.max(2, b.level - level + 1)
    end
    table.insert(result, b)
  end
  return pandoc.walk_block(pandoc.Div(result), { Link = flatten_link, Table = Table }).content
end

-- Column widths for tbl: the docs' pipe tables give every column the same share, which
-- leaves a long "meaning" column a third of the page. Each column gets a share by its text:
-- the average cell length, at least its longest word (+2), between 4 and 60 characters.
local function cell_text(cell)
  return pandoc.utils.stringify(cell.contents or cell)
end

function Table(tbl)
  local n = #tbl.colspecs
  local total, longest, count = {}, {}, {}
  for i = 1, n do total[i], longest[i], count[i] = 0, 0, 0 end
  local function visit(rows)
    for _, row in ipairs(rows) do
      for i, cell in ipairs(row.cells) do
        if i <= n then
          local text = cell_text(cell)
          total[i], count[i] = total[i] + #text, count[i] + 1
          for word in text:gmatch("%S+") do longest[i] = math.max(longest[i], #word) end
        end
      end
    end
  end
  visit(tbl.head.rows)
  for _, body in ipairs(tbl.bodies) do visit(body.body) end
  local weights, sum = {}, 0
  for i = 1, n do
    local avg = count[i] > 0 and total[i] / count[i] or 4
    weights[i] = math.min(60, math.max(4, avg, longest[i] + 2))
    sum = sum + weights[i]
  end
  for i = 1, n do tbl.colspecs[i][2] = 0.95 * weights[i] / sum end
  return tbl
end
