# `vkllm chat` driven through a pipe, under the validation layer (VKLLM_VALIDATION=1: any message
# fails the command), on a tiny synthesized Qwen3 (its vocabulary carries a ChatML template):
#  - two turns: the second keeps every cached token (the first prompt and the answer) and runs
#    only the new turn;
#  - /clear forgets: the same message after it gives the same greedy answer from an empty context;
#  - a context that fills says so and keeps going; /clear recovers;
#  - end of input leaves cleanly (exit 0), with or without a last newline; --system and
#    --chat-template are used; bad flags exit 2 with one line.
set(dir "${WORK_DIR}/chat_pipe")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(env ${CMAKE_COMMAND} -E env VKLLM_VALIDATION=1 XDG_CACHE_HOME=${dir}/cache)

# chat(INPUT_TEXT ARGS...): runs vkllm chat with INPUT_TEXT on stdin; sets out and err
function(chat input)
  file(WRITE "${dir}/input.txt" "${input}")
  execute_process(COMMAND ${env} ${VKLLM} chat ${ARGN} INPUT_FILE "${dir}/input.txt"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`vkllm chat ${ARGN}` exited ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(err MATCHES "VUID|[Vv]alidation")
    message(FATAL_ERROR "`vkllm chat ${ARGN}`: validation messages:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect_failure code pattern)
  execute_process(COMMAND ${env} ${VKLLM} chat ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  INPUT_FILE /dev/null TIMEOUT 300)
  if(NOT rc STREQUAL "${code}" OR NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "`vkllm chat ${ARGN}` exited '${rc}' (want ${code}), stderr should match '${pattern}':\n${err}")
  endif()
endfunction()

# the per-turn lines "[ prompt P tokens (C cached) ... | answer G tokens ... ]" as lists
function(turn_stats)
  string(REGEX MATCHALL "prompt [0-9]+ tokens \\([0-9]+ cached\\)[^|]*\\| answer [0-9]+" lines "${err}")
  set(p "")
  set(c "")
  set(g "")
  foreach(l IN LISTS lines)
    string(REGEX MATCH "prompt ([0-9]+) tokens \\(([0-9]+) cached\\)[^|]*\\| answer ([0-9]+)" m "${l}")
    list(APPEND p ${CMAKE_MATCH_1})
    list(APPEND c ${CMAKE_MATCH_2})
    list(APPEND g ${CMAKE_MATCH_3})
  endforeach()
  set(prompt "${p}" PARENT_SCOPE)
  set(cached "${c}" PARENT_SCOPE)
  set(answer "${g}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND ${VKLLM} synth --arch qwen3 --type f32 --seed 3 -o "${dir}/qwen3.gguf" -q RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "synth failed")
endif()
set(model "${dir}/qwen3.gguf")
set(greedy -m ${model} --temp 0 --cache-type f32)

# two turns: the second runs only what is new
chat("hello there\nhow are you\n" ${greedy} -n 6)
if(NOT err MATCHES "chat format chatml \\(the model's template\\)")
  message(FATAL_ERROR "chat: the model's ChatML template was not used:\n${err}")
endif()
turn_stats()
list(LENGTH prompt turns)
if(NOT turns EQUAL 2)
  message(FATAL_ERROR "chat: expected 2 turns, got ${turns}:\n${err}")
endif()
list(GET prompt 0 p1)
list(GET answer 0 g1)
list(GET cached 0 c1)
list(GET cached 1 c2)
list(GET prompt 1 p2)
math(EXPR want "${p1} + ${g1}")
if(NOT c1 EQUAL 0 OR NOT c2 EQUAL want OR NOT p2 LESS c2)
  message(FATAL_ERROR "chat: turn 2 should keep all ${want} tokens of turn 1 and run only its own ${p2}:\n${err}")
endif()

# /clear: the same message again gives the same greedy answer, from nothing cached
chat("hello there\n/clear\nhello there\n" ${greedy} -n 6)
string(LENGTH "${out}" len)
math(EXPR half "${len} / 2")
string(SUBSTRING "${out}" 0 ${half} a)
string(SUBSTRING "${out}" ${half} -1 b)
turn_stats()
list(GET cached 1 c2)
if(NOT a STREQUAL b OR NOT err MATCHES "cleared" OR NOT c2 EQUAL 0 OR len LESS 2)
  message(FATAL_ERROR "chat /clear: expected the same answer twice from an empty context:\n[${out}]\n${err}")
endif()

# a context that fills: said once it does, the conversation goes on after /clear
chat("hello there\nhow are you\nwhat is new\ntell me more\n/clear\nhello again\n" ${greedy} -n 12 -c 48)
if(NOT err MATCHES "the context is full")
  message(FATAL_ERROR "chat -c 48: no notice of a full context:\n${err}")
endif()
string(REGEX MATCH "cleared.*prompt [0-9]+ tokens \\(0 cached\\)" after_clear "${err}")
if(NOT after_clear)
  message(FATAL_ERROR "chat -c 48: no answer after /clear:\n${err}")
endif()

# end of input without a newline; a system message; another format by name; /exit
chat("hi" -m ${model} --temp 0 -n 3 --system "Be brief." --chat-template llama3)
turn_stats()
list(LENGTH prompt turns)
if(NOT turns EQUAL 1 OR NOT err MATCHES "chat format llama3 \\(--chat-template\\)")
  message(FATAL_ERROR "chat --chat-template llama3: expected one turn in that format:\n${err}")
endif()
chat("/exit\nhello\n" -m ${model} -n 3)
if(err MATCHES "prompt [0-9]+ tokens")
  message(FATAL_ERROR "chat: /exit did not leave:\n${err}")
endif()
chat("" -m ${model})

# hybrid models (qwen3next: gated DeltaNet layers; kimi-linear: KDA layers beside NoPE MLA, in Kimi's
# chat format): turn 2 continues from the state turn 1 left (nothing rerun), and after /clear nothing
# is cached (the state restarts; test_forward_gpu checks a restarted state's logits and that chunks
# carrying the state equal one token at a time)
foreach(pair "qwen3next;chatml" "kimi-linear;kimi-k2")
  list(GET pair 0 arch)
  list(GET pair 1 format)
  execute_process(COMMAND ${VKLLM} synth --arch ${arch} --type f32 --seed 3 -o "${dir}/${arch}.gguf" -q RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "synth ${arch} failed")
  endif()
  chat("hello there\nhow are you\n/clear\nhello there\n" -m "${dir}/${arch}.gguf" --temp 0 -n 6 --chat-template ${format})
  if(NOT err MATCHES "chat format ${format} \\(--chat-template\\)")
    message(FATAL_ERROR "chat ${arch}: format ${format} was not used:\n${err}")
  endif()
  turn_stats()
  list(LENGTH prompt turns)
  if(NOT turns EQUAL 3)
    message(FATAL_ERROR "chat ${arch}: expected 3 turns, got ${turns}:\n${err}")
  endif()
  list(GET prompt 0 p1)
  list(GET answer 0 g1)
  list(GET cached 1 c2)
  list(GET cached 2 c3)
  # turn 2 keeps turn 1's prompt and the answer tokens that spell the same text again: a random
  # model's answer may end in tokens the tokenizer would merge otherwise (kimi-linear's seed 3 does,
  # at its last token); those are rerun, which for a recurrent model means rebuilding the state from
  # the kept tokens (session_rewind, checked by test_forward_gpu's rewind)
  math(EXPR want "${p1} + ${g1}")
  if(c2 LESS p1 OR c2 GREATER want OR NOT c3 EQUAL 0)
    message(FATAL_ERROR "chat ${arch}: turn 2 should continue from ${p1} to ${want} tokens, turn 3 from none:\n${err}")
  endif()
endforeach()

expect_failure(2 "--chat-template is one of chatml, qwen3" -m ${model} --chat-template vicuna)
expect_failure(2 "chat needs a model: vkllm chat -m MODEL.gguf")
expect_failure(2 "unknown option '--bogus'" -m ${model} --bogus)
expect_failure(1 "missing.gguf" -m "${dir}/missing.gguf")

# gpt-oss's harmony format, its plumbing on the tiny Qwen3 (--chat-template gpt-oss; the channel
# parsing itself is test_harmony, the prompt against llama.cpp chat_gpt_oss_jinja). A random model
# writes no channels, so all it writes is the answer, and it is kept: llama.cpp's built-in form
# renders it as "<|start|>assistant<|message|>ANSWER<|return|>", which differs from the generated
# text right after "<|start|>assistant", so turn 2 keeps turn 1's prompt and reruns the answer.
# --reasoning-effort opens the conversation with the template's system block (more prompt tokens),
# which /clear keeps; it is refused for another format and for a level gpt-oss does not have.
set(oss -m ${model} --temp 0 --cache-type f32 --chat-template gpt-oss -n 6)
chat("hello there\nhow are you\n" ${oss})
if(NOT err MATCHES "chat format gpt-oss \\(--chat-template\\)" OR NOT err MATCHES "the reasoning is hidden")
  message(FATAL_ERROR "chat --chat-template gpt-oss: the format or its notice is missing:\n${err}")
endif()
turn_stats()
list(LENGTH prompt turns)
if(NOT turns EQUAL 2)
  message(FATAL_ERROR "chat gpt-oss: expected 2 turns, got ${turns}:\n${err}")
endif()
list(GET prompt 0 p1)
list(GET answer 0 g1)
list(GET cached 1 c2)
math(EXPR want "${p1} + ${g1}")
if(c2 LESS p1 OR (g1 GREATER 0 AND NOT c2 LESS want))
  message(FATAL_ERROR "chat gpt-oss: turn 2 should keep turn 1's ${p1} prompt tokens and rerun the answer:\n${err}")
endif()
string(REGEX MATCHALL "\n" lines "${out}")
list(LENGTH lines n_lines)
if(NOT n_lines EQUAL 2 OR out MATCHES "<\\|")
  message(FATAL_ERROR "chat gpt-oss: expected two answers, one line each, no markers:\n[${out}]")
endif()

chat("hello there\n/clear\nhello there\n" ${oss} --reasoning-effort high --system "Be brief." --show-reasoning)
if(NOT err MATCHES "reasoning effort high" OR NOT err MATCHES "the reasoning is shown")
  message(FATAL_ERROR "chat gpt-oss --reasoning-effort high --show-reasoning: not said:\n${err}")
endif()
turn_stats()
list(GET prompt 0 e1)
list(GET prompt 1 e2)
list(GET cached 1 ec2)
math(EXPR more "${p1} + 40")
if(e1 LESS more OR NOT e2 EQUAL e1 OR NOT ec2 EQUAL 0)
  message(FATAL_ERROR "chat gpt-oss --reasoning-effort: the system block should add to turn 1 (${p1} tokens without) "
                      "and be there again after /clear:\n${err}")
endif()

expect_failure(2 "--reasoning-effort is low, medium or high" -m ${model} --reasoning-effort extreme)
expect_failure(2 "--reasoning-effort is for gpt-oss" -m ${model} --reasoning-effort low)
