# SCTP ends for the real-traffic tests (Node has no SCTP sockets; Python's socket module has them on Linux),
# run inside a lab namespace with the guest's python3. One-to-one style sockets (SOCK_STREAM, IPPROTO_SCTP).
#   sctp.py serve NAME PORT          answer each association's first message with "NAME PORT", then close it;
#                                    prints "ready" once listening (IPv4)
#   sctp.py connect ADDRESS PORT COUNT [LOCAL-ADDRESS]
#                                    COUNT associations in turn, each sending "ping" and printing the answer
#                                    (or "error: WHAT"), then shutting down
import socket
import sys


def serve(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port))
    s.listen(64)
    print('ready', flush=True)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(10)
            c.recv(100)
            c.sendall(f'{name} {port}'.encode())
        except OSError:
            pass
        finally:
            c.close()


def connect(address, port, count, local):
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    for _ in range(count):
        s = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
        s.settimeout(10)
        try:
            if local:
                s.bind((local, 0))
            s.connect((address, port))
            s.sendall(b'ping')
            print(s.recv(100).decode(), flush=True)
        except OSError as e:
            print(f'error: {e}', flush=True)
        finally:
            s.close()


if sys.argv[1] == 'serve':
    serve(sys.argv[2], int(sys.argv[3]))
else:
    connect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
