"""Writes the body of a 1,000-sample /v1/graders/run_batch request (string_check) to stdout."""
import json

grader = {"type": "string_check", "name": "capital", "input": "{{ sample.output_text }}",
          "reference": "{{ item.answer }}", "operation": "eq"}
samples = [{"model_sample": "Paris" if i % 2 else "Lyon", "item": {"answer": "Paris"}}
           for i in range(1000)]
print(json.dumps({"grader": grader, "samples": samples}))
