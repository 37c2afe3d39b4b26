mkdir ../new-shell
cd ../new-shell
cp ../docker-architecture/Dockerfile .
bash -c 'docker build -t $IMAGE_NAME .'
