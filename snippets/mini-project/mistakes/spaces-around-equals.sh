bash -c 'IMAGE_NAME = my-alpine-image'
