-- Fallback path (pandoc -> Typst): a table without a caption is not a numbered figure, so
-- that Typst's table numbers (and the references to them) count captioned tables only, as in
-- the HTML and as Quarto does.
function Table(el)
  if not FORMAT:match("typst") then return nil end
  if #el.caption.long > 0 then return nil end
  return { pandoc.RawBlock("typst", "#[#set figure(numbering: none)"), el, pandoc.RawBlock("typst", "]") }
end
