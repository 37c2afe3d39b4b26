docker context ls
