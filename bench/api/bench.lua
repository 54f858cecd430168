-- wrk script: replay one pre-signed request (written by sign.py) on every connection.
--   wrk -t2 -c64 -d10s -s bench.lua http://127.0.0.1:PORT/ -- REQUEST_FILE
-- The request is static (no request() function), so wrk formats it once per thread and
-- pipelines nothing; each response is counted, non-2xx/3xx ones in summary.errors.status.

function init(args)
   local f = assert(io.open(args[1], "rb"))
   local first = f:read("*l")
   local method, path = first:match("^(%S+) (%S+)$")
   wrk.method = method
   wrk.path = path
   wrk.headers = {}
   for line in f:lines() do
      if line == "" then break end
      local k, v = line:match("^([^:]+): (.*)$")
      wrk.headers[k] = v
   end
   wrk.body = f:read("*a")
   f:close()
end

-- One machine-readable line for the runner to parse (wrk's own report is printed too).
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d " ..
      "lat_p50_us=%d lat_p99_us=%d lat_max_us=%d\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
