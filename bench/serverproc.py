"""Starting `kamado serve` for the bench scripts: the process and the port it
printed ("... http://127.0.0.1:PORT")."""
import re
import subprocess


def start(cmd):
    """Runs `cmd` (a kamado serve command line) and returns (process, port)
    once it printed its URL; exits the script if it never does."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
    raise SystemExit("server did not start: " + " ".join(cmd))
