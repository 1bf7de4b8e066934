# embed.cmake - writes a C header holding a file's bytes as a string array.
# cmake -DIN=file -DOUT=header -DNAME=symbol -P embed.cmake
file(READ "${IN}" HEX HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
file(WRITE "${OUT}" "/* generated from ${IN} by tools/embed.cmake */\nstatic const char ${NAME}[] = {${BYTES} 0x00};\n")
