-- Fallback path (pandoc -> Typst): draw a callout div as a shaded, bordered block.
-- Quarto renders callouts itself; on the fallback path render.py first turns
-- `::: {.callout-note title="..."}` into `::: {.callout .callout-note}` with a title paragraph.
local colours = { ["callout-note"] = "rgb(\"#0072B2\")", ["callout-warning"] = "rgb(\"#D55E00\")",
                  ["callout-important"] = "rgb(\"#CC79A7\")", ["callout-tip"] = "rgb(\"#009E73\")",
                  ["callout-caution"] = "rgb(\"#E69F00\")" }
function Div(el)
  if not FORMAT:match("typst") or not el.classes:includes("callout") then return nil end
  local colour = "rgb(\"#0072B2\")"
  for _, c in ipairs(el.classes) do if colours[c] then colour = colours[c] end end
  local open = pandoc.RawBlock("typst", "#block(width: 100%, inset: 8pt, radius: 2pt, fill: luma(245), stroke: (left: 3pt + " .. colour .. "))[")
  local close = pandoc.RawBlock("typst", "]")
  local blocks = { open }
  for _, b in ipairs(el.content) do table.insert(blocks, b) end
  table.insert(blocks, close)
  return blocks
end
