-- wrk script: POST the JPEG files named in WRK_IMAGES (colon-separated)
-- round robin to the path given as the script argument, e.g.
--   WRK_IMAGES=a.jpg:b.jpg wrk -t2 -c8 -d10s -s post_images.lua URL -- /v2/models/m/classify
local bodies = {}
local path = "/"
local counter = 0

function init(args)
  path = args[1] or path
  for file in string.gmatch(os.getenv("WRK_IMAGES") or "", "[^:]+") do
    local f = assert(io.open(file, "rb"))
    bodies[#bodies + 1] = f:read("*all")
    f:close()
  end
  assert(#bodies > 0, "WRK_IMAGES names no files")
end

function request()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  return wrk.format("POST", path, {["Content-Type"] = "image/jpeg"}, body)
end
