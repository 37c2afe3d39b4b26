docker build -t my-alpine-image .
