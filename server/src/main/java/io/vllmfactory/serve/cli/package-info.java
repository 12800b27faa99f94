/**
 * The command line: turns {@code vllm-factory-serve [MODEL] [--flag value ...] [-- args]} into
 * setting values, and renders {@code --help} from the setting table. Depends on {@code config}.
 */
package io.vllmfactory.serve.cli;
