# `vkllm run --chat`: one user message in the chat format, all under the validation layer
# (VKLLM_VALIDATION=1: any validation message is an error and a non-zero exit):
#  - on a tiny synthesized Qwen3 (its vocabulary carries a ChatML template) the prompt is the one
#    `vkllm chat` runs for the same first message (the same token count, --system included), the
#    greedy answer is chat's answer, byte for byte; --json carries the format, the prompt text, the
#    answer and the reasoning (empty) beside the tokens and the text; --chat-template chatml is the
#    same prompt; without --chat the same -p is a raw completion (a shorter prompt, no answer field);
#  - on a tiny synthesized gpt-oss with --chat-template gpt-oss (random weights write no channels,
#    so the plumbing): exit 0, the fields present, the whole text the answer, llama.cpp's built-in
#    form as the prompt; --reasoning-effort opens it with the system block (longer, "Reasoning:
#    LEVEL", low and high different prompts, chat's token count); --show-reasoning runs;
#  - bad flags exit 2 with one line: a chat flag without --chat, an unknown template, an unknown
#    effort, a missing value, --reasoning-effort with another format, -cnv.
set(dir "${WORK_DIR}/run_chat")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(env ${CMAKE_COMMAND} -E env VKLLM_VALIDATION=1 XDG_CACHE_HOME=${dir}/cache)

include("${CMAKE_CURRENT_LIST_DIR}/run_ok.cmake")

# chat(INPUT_TEXT ARGS...): vkllm chat with INPUT_TEXT on stdin; sets out, err and prompt (the
# first turn's prompt token count)
function(chat input)
  file(WRITE "${dir}/input.txt" "${input}")
  execute_process(COMMAND ${env} ${VKLLM} chat ${ARGN} INPUT_FILE "${dir}/input.txt"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
  if(NOT rc EQUAL 0 OR err MATCHES "VUID|[Vv]alidation")
    message(FATAL_ERROR "`vkllm chat ${ARGN}` exited ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT err MATCHES "\\[ prompt ([0-9]+) tokens \\(0 cached\\)")
    message(FATAL_ERROR "`vkllm chat ${ARGN}`: no first turn's prompt line:\n${err}")
  endif()
  set(prompt ${CMAKE_MATCH_1} PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

# expect_failure(CODE PATTERN ARGS...): vkllm run ARGS exits CODE and the first line of stderr is
# "vkllm: error: ..." matching PATTERN
function(expect_failure code pattern)
  execute_process(COMMAND ${env} ${VKLLM} run ${ARGN} INPUT_FILE /dev/null RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 300)
  string(REGEX MATCH "^[^\n]*" first "${err}")
  if(NOT rc STREQUAL "${code}" OR NOT first MATCHES "^vkllm: error: .*${pattern}")
    message(FATAL_ERROR "`vkllm run ${ARGN}` exited '${rc}' (want ${code}); stderr's first line should be the error "
                        "matching '${pattern}':\n${err}")
  endif()
  set(err "${err}" PARENT_SCOPE)
endfunction()

# json_fields(JSON): every field run --chat --json documents is there; sets n_prompt, n_tok,
# prompt_text, answer, reasoning, text, format, stop
function(json_fields json)
  foreach(key prompt_tokens tokens text chat_format prompt answer reasoning stop timings)
    string(JSON type ERROR_VARIABLE jerr TYPE "${json}" ${key})
    if(jerr)
      message(FATAL_ERROR "run --chat --json: no \"${key}\":\n${json}")
    endif()
  endforeach()
  string(JSON n LENGTH "${json}" prompt_tokens)
  string(JSON g LENGTH "${json}" tokens)
  foreach(key prompt answer reasoning text chat_format stop)
    string(JSON v GET "${json}" ${key})
    set(${key} "${v}" PARENT_SCOPE)
  endforeach()
  set(n_prompt ${n} PARENT_SCOPE)
  set(n_tok ${g} PARENT_SCOPE)
endfunction()

run_ok(${VKLLM} synth --arch qwen3 --type f32 --seed 3 -o "${dir}/qwen3.gguf" -q)
set(qwen3 "${dir}/qwen3.gguf")
set(greedy --temp 0 --cache-type f32 -n 6)

# ---- ChatML (the model's template): the prompt and the answer of chat's first turn ----
chat("hello there\n" -m ${qwen3} ${greedy} --system "Be brief.")
set(chat_prompt ${prompt})
set(chat_answer "${out}")
run_ok(${VKLLM} run -m ${qwen3} --chat -p "hello there" --system "Be brief." ${greedy} --json)
json_fields("${out}")
set(want_prompt "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n")
if(NOT n_prompt EQUAL chat_prompt OR NOT chat_format STREQUAL "chatml" OR NOT prompt STREQUAL want_prompt)
  message(FATAL_ERROR "run --chat: ${n_prompt} prompt tokens in ${chat_format} (chat runs ${chat_prompt}), prompt:\n"
                      "${prompt}\n(want)\n${want_prompt}")
endif()
if(NOT n_tok EQUAL 6 OR NOT answer STREQUAL text OR NOT reasoning STREQUAL "" OR NOT "${answer}\n" STREQUAL chat_answer)
  message(FATAL_ERROR "run --chat: ${n_tok} tokens, answer '${answer}', text '${text}', reasoning '${reasoning}'; "
                      "chat answered '${chat_answer}'")
endif()
string(JSON chatml_tokens GET "${out}" prompt_tokens)

# streamed: the answer as chat writes it (no echo of the prompt), the format on stderr
run_ok(${VKLLM} run -m ${qwen3} --chat -p "hello there" --system "Be brief." ${greedy})
if(NOT out STREQUAL chat_answer OR NOT err MATCHES "chat format chatml \\(the model's template\\)"
   OR NOT err MATCHES "prompt +${chat_prompt} tokens")
  message(FATAL_ERROR "run --chat: stdout '${out}' (chat wrote '${chat_answer}'), stderr:\n${err}")
endif()

# --chat-template chatml, and llama-cli's name --single-turn: the same prompt
run_ok(${VKLLM} run -m ${qwen3} --single-turn --chat-template chatml -p "hello there" --system "Be brief." ${greedy} --json)
string(JSON tokens GET "${out}" prompt_tokens)
if(NOT tokens STREQUAL chatml_tokens)
  message(FATAL_ERROR "run --single-turn --chat-template chatml: prompt ${tokens}, want ${chatml_tokens}")
endif()

# without --chat: a raw completion, as before
run_ok(${VKLLM} run -m ${qwen3} -p "hello there" ${greedy} --json)
string(JSON n_raw LENGTH "${out}" prompt_tokens)
string(JSON has_answer ERROR_VARIABLE jerr TYPE "${out}" answer)
if(NOT n_raw LESS n_prompt OR NOT jerr)
  message(FATAL_ERROR "run without --chat: ${n_raw} prompt tokens (chat ${n_prompt}) or an answer field:\n${out}")
endif()

# ---- gpt-oss (harmony): the plumbing on random weights ----
run_ok(${VKLLM} synth --arch gpt-oss --type f32 -o "${dir}/gpt-oss.gguf" -q)
set(gptoss -m "${dir}/gpt-oss.gguf" --chat-template gpt-oss --temp 0 -n 8)

run_ok(${VKLLM} run --chat ${gptoss} -p "hi" --json)
json_fields("${out}")
set(n_plain ${n_prompt})
if(NOT chat_format STREQUAL "gpt-oss" OR NOT prompt STREQUAL "<|start|>user<|message|>hi<|end|><|start|>assistant"
   OR n_tok LESS 1 OR n_tok GREATER 8)
  message(FATAL_ERROR "run --chat (gpt-oss): unexpected object:\n${out}")
endif()
# no channels in what random weights write: all of it is the answer
if(NOT answer STREQUAL text OR NOT reasoning STREQUAL "")
  message(FATAL_ERROR "run --chat (gpt-oss): text without channels should be all answer:\n${out}")
endif()

foreach(effort low high)
  run_ok(${VKLLM} run --chat ${gptoss} -p "hi" --reasoning-effort ${effort} --system "Be brief." --json)
  json_fields("${out}")
  string(JSON tokens_${effort} GET "${out}" prompt_tokens)
  if(NOT n_prompt GREATER n_plain OR NOT prompt MATCHES "^<\\|start\\|>system<\\|message\\|>You are ChatGPT"
     OR NOT prompt MATCHES "Reasoning: ${effort}" OR NOT prompt MATCHES "<\\|start\\|>developer<\\|message\\|># Instructions\n\nBe brief.")
    message(FATAL_ERROR "run --chat --reasoning-effort ${effort}: ${n_prompt} prompt tokens (without: ${n_plain}):\n${prompt}")
  endif()
  set(n_${effort} ${n_prompt})
endforeach()
if(tokens_low STREQUAL tokens_high)
  message(FATAL_ERROR "run --chat: --reasoning-effort low and high gave the same prompt")
endif()
chat("hi\n" ${gptoss} --reasoning-effort high --system "Be brief.")
if(NOT prompt EQUAL n_high)
  message(FATAL_ERROR "run --chat --reasoning-effort high: ${n_high} prompt tokens, chat runs ${prompt}")
endif()

run_ok(${VKLLM} run --chat ${gptoss} -p "hi" --show-reasoning --reasoning-effort low)
if(NOT err MATCHES "chat format gpt-oss \\(--chat-template\\)" OR NOT err MATCHES "reasoning is shown" OR NOT err MATCHES "effort low")
  message(FATAL_ERROR "run --chat --show-reasoning (gpt-oss): stderr:\n${err}")
endif()

# ---- refusals: exit 2, one line ----
expect_failure(2 "add --chat .*'--system'" -m ${qwen3} -p hi --system x)
expect_failure(2 "add --chat .*'--chat-template'" -m ${qwen3} -p hi --chat-template chatml)
expect_failure(2 "add --chat .*'--show-reasoning'" -m ${qwen3} -p hi --show-reasoning)
expect_failure(2 "--chat-template is one of .*'bogus'" -m ${qwen3} --chat -p hi --chat-template bogus)
expect_failure(2 "--reasoning-effort is low, medium or high .*'extreme'" -m ${qwen3} --chat --reasoning-effort extreme)
expect_failure(2 "missing value for '--system'" -m ${qwen3} --chat --system)
expect_failure(2 "vkllm chat.*'-cnv'" -m ${qwen3} -cnv)
expect_failure(2 "--reasoning-effort is for gpt-oss .* chatml" -m ${qwen3} --chat -p hi --reasoning-effort low)
if(NOT err MATCHES "^vkllm: error: [^\n]*\n$")
  message(FATAL_ERROR "run --chat --reasoning-effort on ChatML: more than one line:\n${err}")
endif()
