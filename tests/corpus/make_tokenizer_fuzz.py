#!/usr/bin/env python3
# Writes tests/corpus/tokenizer_fuzz.txt: 600 texts made of random runs of pieces that stress a
# tokenizer (special tokens of five families, whitespace of every kind, combining marks, emoji
# sequences, U+180E, BOM, ▁, digits, contractions, punctuation). Fixed seed: the file is the test
# data; rerun only to change it. Valid UTF-8 only: node-llama-cpp takes strings, so invalid bytes
# could not reach llama.cpp unchanged (test_tokenizer.c covers those).
import random, pathlib
random.seed(7)
pieces = ["<|im_start|>", "<|im_end|>", "<start_of_turn>", "<\uff5cUser\uff5c>", "<|start|>", "<|message|>", "<think>",
          "</s>", "<bos>", " ", "  ", "   ", "\n", "\n\n", "\r\n", "\r", "\t", " \t", "a", "Hello", "world", "I", "'s",
          "'LL", "'ve", "\u00e9", "e\u0301", "\u2581", "\u2581\u2581", "\u65e5\u672c\u8a9e", "\ud55c\uad6d\uc5b4",
          "\u041f\u0440\u0438\u0432\u0435\u0442", "\u03a9\u03bc\u03ad\u03b3\u03b1", "\U0001f44d\U0001f3fd",
          "\U0001f1eb\U0001f1f7", "\u200d", "\ufe0f", "123", "4567", "3.14", "\u00bd", "\u0663", "?", "!!!", "...",
          "\u2014", "\u201c", "\u201d", ">", "<", "</", "/", "\u180e", "\ufeff", "\u00a0", "\u3000", "\u2028", "\u0085",
          "\u000b", "\u001c", "x", "Z", "\u00df", "\u01c5", "\ufb01", "\U0001f600", "\u0300", "\u0903",
          "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0e44\u0e17\u0e22", "$", "+", "=", "^", "`", "|", "~", "_", "#", "@",
          "\\", "{}", "()", "[]"]
texts = ["".join(random.choice(pieces) for _ in range(random.randint(1, 14))) for _ in range(600)]
out = pathlib.Path(__file__).with_name("tokenizer_fuzz.txt")
out.write_bytes("\n__ggml_vocab_test__\n".join(texts).encode("utf-8"))
