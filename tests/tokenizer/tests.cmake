# The tokenizer (host/run/tok*.c, docs/tokenizer.md), included from tests/CMakeLists.txt.
# test_tokenizer_corpus compares a corpus with ids llama.cpp made (llama.cpp's fixture format).
add_executable(test_tokenizer_corpus tokenizer/test_tokenizer_corpus.c)
target_link_libraries(test_tokenizer_corpus PRIVATE vkllm_lib)

# llama.cpp's own tokenizer fixtures (models/ggml-vocab-*.gguf with .inp/.out, add_special and
# parse_special off), from the source tests/deps/install.sh clones: every vocabulary whose
# pre-tokenizer vkllm knows.
set(llama_models ${CMAKE_SOURCE_DIR}/tests/deps/llama.cpp/models)
if(EXISTS ${llama_models}/ggml-vocab-qwen2.gguf.inp)
  foreach(v qwen2 qwen35 llama-bpe llama-spm phi-3 gpt-2 mpt starcoder refact command-r falcon deepseek-llm deepseek-coder)
    set(f ${llama_models}/ggml-vocab-${v})
    add_test(NAME tokenizer_fixture_${v} COMMAND test_tokenizer_corpus ${f}.gguf ${f}.gguf.inp ${f}.gguf.out)
    set_tests_properties(tokenizer_fixture_${v} PROPERTIES LABELS oracle TIMEOUT 300)
  endforeach()
else()
  message(STATUS "tests/deps/llama.cpp not cloned (bash tests/deps/install.sh): the tokenizer fixture tests are skipped")
endif()

# The five real vocabularies against llama.cpp (node-llama-cpp, tests/deps/install.sh).
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/deps/node_modules/node-llama-cpp/package.json)
  add_test(NAME tokenizer_oracle
           COMMAND ${CMAKE_COMMAND} -DVKLLM=$<TARGET_FILE:vkllm> -DCORPUS_TEST=$<TARGET_FILE:test_tokenizer_corpus>
                   -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR} -DSRC_DIR=${CMAKE_SOURCE_DIR}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/tokenizer_oracle.cmake)
  set_tests_properties(tokenizer_oracle PROPERTIES LABELS oracle TIMEOUT 1200)
endif()

# Unit: tiny vocabularies built in the test, every id worked out by hand.
vkllm_test(test_tokenizer tokenizer/test_tokenizer.c unit)

# The command: output format, flags, errors.
add_test(NAME tokenizer_cli
         COMMAND ${CMAKE_COMMAND} -DVKLLM=$<TARGET_FILE:vkllm> -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/cli_tokenize.cmake)
set_tests_properties(tokenizer_cli PROPERTIES LABELS cli TIMEOUT 300)
