"""Training files (OpenAI's JSONL formats) → the datasets TRL's trainers take.

* supervised: each chat line is tokenised here with the model's chat template, and only the
  assistant messages are trained on (``weight: 0`` excludes one, as on OpenAI). The spans are
  found by rendering the conversation prefix by prefix, so any template works, with or without
  ``{% generation %}`` markers; the result is a pre-tokenised ``input_ids`` + ``assistant_masks``
  dataset that `SFTTrainer` turns into labels. Sequences longer than ``max_seq_length`` are cut
  from the end (OpenAI truncates the end too).
* dpo: ``{input: {messages}, preferred_output, non_preferred_output}`` →
  ``{prompt, chosen, rejected}`` (conversational).
* reinforcement: ``{messages, …}`` → ``{prompt, gradekit_item}`` where ``gradekit_item`` is
  the JSON of every other key of the line: the grader's ``item``, kept as one string column so
  lines with different item shapes fit one Arrow table.

The server validated the files already (DESIGN §8); errors here still name the line.
"""

import json
from typing import Any, Dict, List, Optional, Tuple

ITEM_COLUMN = "gradekit_item"


class DataError(ValueError):
    pass


def read_jsonl(path: str, what: str) -> List[Dict[str, Any]]:
    rows = []
    try:
        # Bytes split at "\n" only, as every gradekit JSONL reader numbers lines (text mode
        # would also end lines at a lone "\r"); a blank line is `not line.strip()`.
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise DataError("%s line %d: not valid UTF-8" % (what, n)) from None
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as e:
                    raise DataError("%s line %d: invalid JSON (%s)" % (what, n, e)) from None
                if not isinstance(obj, dict):
                    raise DataError("%s line %d: not a JSON object" % (what, n))
                rows.append(obj)
    except OSError as e:
        raise DataError("cannot read %s %s: %s" % (what, path, e)) from None
    if not rows:
        raise DataError("%s %s has no examples" % (what, path))
    return rows


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _message(m: Any, where: str) -> Dict[str, Any]:
    if not isinstance(m, dict) or not isinstance(m.get("role"), str):
        raise DataError("%s: a message needs a role" % where)
    out = {"role": m["role"], "content": _text(m.get("content"))}
    if m.get("tool_calls"):
        out["tool_calls"] = m["tool_calls"]
    if m.get("tool_call_id"):
        out["tool_call_id"] = m["tool_call_id"]
    return out


def _messages(v: Any, where: str) -> List[Dict[str, Any]]:
    if not isinstance(v, list) or not v:
        raise DataError("%s: messages must be a non-empty list" % where)
    return [_message(m, "%s message %d" % (where, i + 1)) for i, m in enumerate(v)]


def _render(tokenizer, messages, generation_prompt: bool, tools=None) -> str:
    kw = {"tools": tools} if tools else {}
    return tokenizer.apply_chat_template(messages, tokenize=False,
                                         add_generation_prompt=generation_prompt, **kw)


def chat_segments(tokenizer, row: Dict[str, Any], where: str) -> List[Tuple[str, bool]]:
    """The rendered conversation as (text, trained) segments, in order."""
    raw = row.get("messages")
    msgs = _messages(raw, where)
    tools = row.get("tools")
    full = _render(tokenizer, msgs, False, tools)
    targets = [i for i, m in enumerate(raw) if m.get("role") == "assistant" and m.get("weight", 1) != 0]
    if not targets:
        raise DataError("%s: no assistant message to train on" % where)
    segments: List[Tuple[str, bool]] = []
    pos = 0
    for i in targets:
        before = _render(tokenizer, msgs[:i], True, tools) if i else ""
        upto = _render(tokenizer, msgs[: i + 1], False, tools)
        if not (upto.startswith(before) and full.startswith(upto) and len(before) >= pos):
            # The template is not prefix-stable (it rewrites earlier turns): train the last
            # assistant message only, which is always a clean suffix.
            last = targets[-1]
            before = _render(tokenizer, msgs[:last], True, tools)
            if not full.startswith(before):
                raise DataError("%s: the chat template does not render the conversation "
                                "prefix by prefix" % where)
            return [(before, False), (full[len(before):], True)]
        if len(before) > pos:
            segments.append((full[pos:len(before)], False))
        segments.append((full[len(before):len(upto)], True))
        pos = len(upto)
    if pos < len(full):
        segments.append((full[pos:], False))
    return segments


def tokenize_chat(tokenizer, row: Dict[str, Any], max_len: int, where: str) -> Dict[str, List[int]]:
    ids: List[int] = []
    mask: List[int] = []
    for text, trained in chat_segments(tokenizer, row, where):
        t = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids.extend(t)
        mask.extend([1 if trained else 0] * len(t))
    ids, mask = ids[:max_len], mask[:max_len]
    return {"input_ids": ids, "assistant_masks": mask}


def supervised_dataset(rows, tokenizer, max_len: int, what: str):
    from datasets import Dataset

    out = [tokenize_chat(tokenizer, r, max_len, "%s line %d" % (what, i + 1)) for i, r in enumerate(rows)]
    if not any(1 in o["assistant_masks"] for o in out):
        raise DataError("%s: every assistant message was truncated away (max_seq_length %d)"
                        % (what, max_len))
    return Dataset.from_list(out)


def dpo_dataset(rows, what: str):
    from datasets import Dataset

    out = []
    for i, r in enumerate(rows):
        where = "%s line %d" % (what, i + 1)
        inp = r.get("input")
        if not isinstance(inp, dict):
            raise DataError("%s: input must be an object with messages" % where)
        out.append({
            "prompt": _messages(inp.get("messages"), where + " input"),
            "chosen": _messages(r.get("preferred_output"), where + " preferred_output"),
            "rejected": _messages(r.get("non_preferred_output"), where + " non_preferred_output"),
        })
    return Dataset.from_list(out)


def rft_rows(rows, what: str) -> List[Dict[str, Any]]:
    out = []
    for i, r in enumerate(rows):
        where = "%s line %d" % (what, i + 1)
        prompt = [{"role": m["role"], "content": m["content"]}
                  for m in _messages(r.get("messages"), where)]
        item = {k: v for k, v in r.items() if k != "messages"}
        out.append({"prompt": prompt, ITEM_COLUMN: json.dumps(item)})
    return out


def rft_dataset(rows, what: str, tokenizer=None, max_prompt_tokens: int = 0):
    """The GRPO dataset; with a tokenizer, a prompt longer than `max_prompt_tokens` (the
    model's context minus the completion length) is an error naming its line."""
    from datasets import Dataset

    out = rft_rows(rows, what)
    if tokenizer is not None:
        for i, r in enumerate(out):
            n = len(tokenizer.apply_chat_template(r["prompt"], add_generation_prompt=True,
                                                  tokenize=True, return_dict=False))
            if n > max_prompt_tokens:
                raise DataError("%s line %d: the prompt has %d tokens, more than the %d the model's "
                                "context leaves beside the completion" % (what, i + 1, n, max_prompt_tokens))
    return Dataset.from_list(out)


def maybe(path: Optional[str], what: str) -> Optional[List[Dict[str, Any]]]:
    return read_jsonl(path, what) if path else None
