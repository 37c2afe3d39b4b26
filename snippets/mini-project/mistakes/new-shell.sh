mkdir ../new-shell
cd ../new-shell
cp ../docker-architecture/Dockerfile .
env -u IMAGE_NAME bash -c 'docker build -t $IMAGE_NAME .'
