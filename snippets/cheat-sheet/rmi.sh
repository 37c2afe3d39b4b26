docker rmi my-alpine-image
