/**
 * How execute hands its command to the process that runs it. A string is run by /bin/sh; as
 * `/bin/sh -c COMMAND` it is on the command line, which every local user can read (ps,
 * /proc/PID/cmdline). A sensitive one reaches the shell on standard input instead, so its text
 * is in no argv and no file.
 */

export interface ShellInvocation {
  argv: string[];
  /** run argv joined by /bin/sh -c */
  shell: boolean;
  /** the standard input of the process */
  input?: string;
}

/**
 * PURE. The script on stdin is one brace group, which the shell reads whole before it runs any
 * of it, with the group's standard input from /dev/null: a command in it that reads stdin gets
 * end-of-file, as with -c, and never the rest of the script.
 */
export function shellInvocation(command: string | string[], sensitive = false): ShellInvocation {
  if (Array.isArray(command)) return { argv: command, shell: false };
  if (!sensitive) return { argv: [command], shell: true };
  return { argv: ["/bin/sh", "-s"], shell: false, input: `{\n${command}\n} </dev/null\n` };
}
