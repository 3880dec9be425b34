# Shell helpers shared by bench/peers.sh and bench/profile.sh (sourced, not run).

# want SECTION: true if SECTION is in the comma list $only.
want() { [[ ",$only," == *",$1,"* ]]; }

# free_port: a loopback port the OS just handed out (bound to port 0, then released).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: returns once PORT accepts connections; exits if PID dies or after 60 s.
wait_port() {
  for _ in $(seq 1 600); do
    kill -0 "$2" 2>/dev/null || { echo "$(basename "$0"): process $2 died" >&2; exit 1; }
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.5)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): nothing listens on port $1" >&2
  exit 1
}
