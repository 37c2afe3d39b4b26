docker rm visitor
