"""The screen a terminal leaves: redraws in place, cursor moves and colours as a terminal emulator applies them."""

from doclab.run.terminal import screen


def test_a_view_redrawn_in_place_leaves_its_last_state():
    # BuildKit's tty view: draw two lines, move the cursor up two, draw them again finished (and in colour).
    stream = ("\r\n[+] Building 0.1s (0/1)\r\n => [internal] load build definition 0.0s\r\n"
              "\x1b[2A\r\x1b[K[+] Building 0.3s (1/1) FINISHED\r\n\x1b[K\x1b[34m => [internal] load build definition 0.0s\x1b[0m\r\n")
    assert screen(stream, (80, 10)) == "[+] Building 0.3s (1/1) FINISHED\n => [internal] load build definition 0.0s\n"


def test_a_line_wider_than_the_terminal_wraps_and_a_long_output_keeps_its_last_rows():
    assert screen("x" * 45 + "\r\n", (40, 5)) == "x" * 40 + "\n" + "x" * 5 + "\n"
    last = screen("".join(f"line {n}\r\n" for n in range(20)), (40, 5))
    assert last.splitlines() == ["line 16", "line 17", "line 18", "line 19"]
