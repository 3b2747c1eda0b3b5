/* The command line: one file per verb; main.c dispatches. The CLI is the only place that prints
 * errors and chooses exit codes: 0 success, 1 a failure while working, 2 a usage error or a
 * machine without the Vulkan loader or driver (something the user must install or fix first). */
#ifndef VKLLM_CLI_H
#define VKLLM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define VKLLM_VERSION "0.1.0"

int cmd_devices(int argc, char **argv);
int cmd_run(int argc, char **argv);
void cmd_run_help(FILE *f);
int cmd_chat(int argc, char **argv);
void cmd_chat_help(FILE *f);
int cmd_perplexity(int argc, char **argv);
void cmd_perplexity_help(FILE *f);
int cmd_inspect(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_model(int argc, char **argv);
void cmd_synth_help(FILE *f);
int cmd_tokenize(int argc, char **argv);
void cmd_tokenize_help(FILE *f);

/* Prints "vkllm: error: <last message>" and returns the exit code for status st. */
int cli_error(int st);
/* Prints the usage of a verb ("" for the overview) to f. */
void cli_usage(FILE *f, const char *verb);
/* For an unknown flag or a missing value: one line naming it, the verb's usage, exit code 2. */
int cli_bad_arg(const char *verb, const char *msg, const char *arg);
/* Parses a non-negative integer option value; false (and a message) when it is not one. */
bool cli_parse_int(const char *s, long max, long *out);

#endif
