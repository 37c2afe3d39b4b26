docker pull alpine:3.18
