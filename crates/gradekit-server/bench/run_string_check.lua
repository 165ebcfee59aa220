-- wrk script: POST one string_check /run request (the grader is sent whole with each request,
-- as the SDK does; the server's cache compiles it once).
wrk.method = "POST"
wrk.path = "/v1/fine_tuning/alpha/graders/run"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"grader":{"type":"string_check","name":"capital","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","operation":"eq"},"model_sample":"Paris","item":{"answer":"Paris"}}'

done = function(summary, latency, requests)
  io.write(string.format("requests %d errors(status) %d p50_ms %.3f p90_ms %.3f p99_ms %.3f max_ms %.3f\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
