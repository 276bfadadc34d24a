/**
 * One line to the machine's console (/dev/console, /dev/ttyS0), what `aws ec2 get-console-output`
 * reads back after the instance's disk is gone. The console is only ever opened, never made: an
 * absent name is no console; a name that is neither a character device nor a regular file (a
 * link someone put there, a FIFO that would block) is refused. O_NONBLOCK: a console nobody
 * reads must not hold up the boot's last steps; O_NOCTTY: it must not become the boot's
 * controlling terminal.
 */
import * as fs from "node:fs";

const FLAGS =
  fs.constants.O_WRONLY |
  fs.constants.O_APPEND |
  fs.constants.O_NOFOLLOW |
  fs.constants.O_NOCTTY |
  fs.constants.O_NONBLOCK;

/** Write `line` to the console at `hostPath`: "written", or why not (never throws). */
export function writeConsoleLine(hostPath: string, line: string): "written" | string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(hostPath, FLAGS);
    const st = fs.fstatSync(fd);
    if (!st.isCharacterDevice() && !st.isFile()) return `${hostPath} is neither a console device nor a file`;
    fs.writeSync(fd, line);
    return "written";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return `${hostPath} is absent`;
    if (code === "ELOOP") return `${hostPath} is a symbolic link`;
    return `${hostPath}: ${(err as Error).message}`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
