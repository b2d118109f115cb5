/*
 * guest-boot.S -- the ferry lab's "test guest": a 512-byte x86 boot sector.
 *
 * What it is for
 * --------------
 * The lab needs a guest that proves two things after a live migration:
 *   1. the guest KEPT RUNNING across the move (it was not rebooted or
 *      frozen): it prints a counter that goes up by one about once a second,
 *      so the console log shows an unbroken 1, 2, 3, ... sequence;
 *   2. its DISK CAME ALONG: every tick it also writes the counter to disk
 *      sector 1, so the image on the destination holds a recent value, and
 *      if the guest is ever booted again from that image it carries on
 *      counting from the stored value instead of starting again at 1.
 * It needs no OS, no network and only a few KiB of RAM, so it boots in
 * well under a second even under TCG (plain emulation, no KVM).
 *
 * What it does
 * ------------
 *  - At boot: sets DS=ES=SS=0, SP=0x7C00, remembers the BIOS boot drive (DL).
 *  - Reads disk sector LBA 1 with INT 13h AH=42h (extended read). If the
 *    sector starts with the 8 bytes "FERRYCNT", the counter starts from the
 *    little-endian uint32 at offset 8, and the byte at offset 12 is the
 *    "busy" flag; otherwise it starts from 0, not busy.
 *  - Then forever:
 *      wait ~1 s (18 BIOS timer ticks, sleeping in HLT between ticks; a
 *      busy guest first rewrites 2 MiB of RAM with non-zero words at every
 *      tick, going round 24 MiB from 1 MiB up: ~36 MB/s of dirty memory,
 *      so that a live migration with a low bandwidth cap cannot finish),
 *      counter += 1,
 *      print "ferry-guest counter N\r\n" to COM1 (port 0x3F8),
 *      write sector LBA 1 = "FERRYCNT" + uint32 LE counter + busy + zeros
 *      with INT 13h AH=43h (extended write, no verify).
 *    So the first line after a boot is "ferry-guest counter <stored+1>".
 *  - If an INT 13h call fails (carry set) it prints "ferry-guest disk error"
 *    and carries on; a failed boot-time read means counting from 0.
 *
 * Design notes
 * ------------
 *  - COM1 is driven by direct port I/O: poll the Line Status Register
 *    (0x3FD) bit 5 "transmit holding register empty" before each byte, then
 *    write it to 0x3F8. Under QEMU this works without programming the UART
 *    (baud rate etc. are irrelevant). The poll is bounded (65535 reads), so
 *    a console nobody drains can cost characters but never hangs the guest.
 *  - Nothing depends on the host side: any BIOS disk that supports the
 *    INT 13h extensions (SeaBIOS: virtio-blk, IDE, SCSI ...), any serial
 *    backend (file, pty, with or without a log file), machine "pc", 32 MiB.
 *  - Timing uses the BIOS tick count at 0040:006C (18.2 Hz). Only the low
 *    16 bits are compared, as a difference, so the midnight reset merely
 *    makes one interval short.
 *  - The record sits in sector 1, i.e. inside the first qcow2 cluster,
 *    which build-guest-image allocates (sector 0 is non-zero): the guest's
 *    writes never allocate clusters, so another process reading the image
 *    with force-share (guest-disk-counter) sees the new value at once.
 *  - 386 instructions (32-bit registers) are used for the counter.
 *  - A busy guest reaches memory above 1 MiB from real mode through "unreal
 *    mode": A20 on (port 92h), then ES loaded once in protected mode with a
 *    4 GiB limit, which real mode keeps; ES stays 0 from then on.
 *
 * Build (see build-guest-image):
 *   as --32 -o boot.o guest-boot.S
 *   ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o boot.bin boot.o
 */

        .code16
        .text
        .globl  _start

        .set    BUF,        0x8000      /* 512-byte sector buffer (free RAM) */
        .set    COM1,       0x3f8       /* data port; LSR is COM1+5 */
        .set    LSR_THRE,   0x20        /* LSR bit 5: ready for a byte */
        .set    BIOS_TICKS, 0x046c      /* 0040:006C == 0000:046C */
        .set    WAIT_TICKS, 18          /* 18 / 18.2 Hz ~= 1 s */

_start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x7c00, %sp            /* stack grows down below us */
        ljmp    $0, $start              /* some BIOSes jump to 07C0:0000 */
start:
        sti
        cld
        mov     %dl, drive              /* BIOS boot drive */

        /* ---- read the stored counter from sector 1 ---- */
        mov     $0x4200, %ax            /* AH=42h extended read */
        call    disk_io
        jc      1f                      /* error printed; count from 0 */
        mov     $BUF, %si
        mov     $magic, %di
        mov     $8, %cx
        repe    cmpsb                   /* magic present? */
        jne     1f
        mov     (%si), %eax             /* SI = BUF+8: stored counter */
        mov     %eax, counter
        mov     4(%si), %al             /* BUF+12: the busy flag */
        mov     %al, busy
        test    %al, %al
        jz      1f
        in      $0x92, %al              /* fast A20 on */
        or      $2, %al
        out     %al, $0x92
        cli
        lgdt    gdt_desc
        mov     %cr0, %eax
        or      $1, %al
        mov     %eax, %cr0              /* protected mode, just to load ES */
        mov     $8, %bx
        mov     %bx, %es                /* base 0, limit 4 GiB */
        and     $0xfe, %al
        mov     %eax, %cr0              /* back to real mode: ES keeps its limit */
        xor     %bx, %bx
        mov     %bx, %es
        sti
1:
        mov     BIOS_TICKS, %ax         /* start of the first interval */
        mov     %ax, last_tick

main_loop:
        /* ---- sleep until 18 ticks have passed since the last line ---- */
wait:
        cmpb    $0, busy
        je      2f
        movzbl  slice, %edi             /* dirty 2 MiB at 1 MiB + slice * 2 MiB */
        shl     $21, %edi
        add     $0x100000, %edi
        mov     $0x80000, %ecx
        mov     BIOS_TICKS, %eax
        or      $1, %eax                /* non-zero: QEMU sends zero pages for free */
        addr32  rep stosl
        incb    slice
        cmpb    $12, slice
        jb      2f
        movb    $0, slice
2:      sti
        hlt                             /* woken by the timer IRQ (or any) */
        mov     BIOS_TICKS, %ax
        mov     %ax, %dx
        sub     last_tick, %ax          /* unsigned 16-bit difference */
        cmp     $WAIT_TICKS, %ax
        jb      wait
        mov     %dx, last_tick

        /* ---- count and print "ferry-guest counter N\r\n" ---- */
        incl    counter
        mov     $msg_counter, %si
        call    puts
        mov     counter, %eax
        call    putdec
        mov     $crlf, %si
        call    puts

        /* ---- write "FERRYCNT" + counter + zeros to sector 1 ---- */
        mov     $BUF, %di
        mov     $magic, %si
        mov     $8, %cx
        rep     movsb
        mov     counter, %eax
        stosl
        mov     busy, %al
        stosb
        xor     %al, %al
        mov     $512 - 13, %cx
        rep     stosb
        mov     $0x4300, %ax            /* AH=43h extended write, AL=0 */
        call    disk_io
        jmp     main_loop

/*
 * disk_io: INT 13h extended read/write of one sector, LBA 1 <-> BUF.
 * In: AX = 4200h or 4300h. Out: CF set on error (message already printed).
 */
disk_io:
        movw    $1, dap_count           /* BIOS may change it on error */
        mov     $dap, %si
        mov     drive, %dl
        int     $0x13
        jnc     1f
        mov     $msg_disk_err, %si
        call    puts
        stc
1:      ret

/* putdec: print EAX as unsigned decimal, no leading zeros. */
putdec:
        mov     $10, %ebx
        xor     %cx, %cx
1:      xor     %edx, %edx
        div     %ebx                    /* EAX = EAX / 10, EDX = digit */
        push    %dx
        inc     %cx
        test    %eax, %eax
        jnz     1b
2:      pop     %ax
        add     $'0', %al
        call    putc
        loop    2b
        ret

/* puts: print the NUL-terminated string at DS:SI. */
puts:
        lodsb
        test    %al, %al
        jz      1f
        call    putc
        jmp     puts
1:      ret

/* putc: send AL to COM1 (clobbers AH; keeps CX, DX). */
putc:
        push    %cx
        push    %dx
        mov     %al, %ah
        mov     $COM1 + 5, %dx
        mov     $0xffff, %cx            /* bounded wait, never hang */
1:      in      %dx, %al
        test    $LSR_THRE, %al
        loopz   1b                      /* until THRE set or CX = 0 */
        mov     %ah, %al
        mov     $COM1, %dx
        out     %al, %dx
        pop     %dx
        pop     %cx
        ret

/* ---- data (lives in the loaded sector, so it is writable) ---- */

/* Disk address packet for INT 13h AH=42h/43h. */
dap:            .byte   0x10, 0         /* size, reserved */
dap_count:      .word   1               /* sectors */
                .word   BUF, 0          /* buffer offset, segment */
                .quad   1               /* LBA */

counter:        .long   0
last_tick:      .word   0
drive:          .byte   0
busy:           .byte   0
slice:          .byte   0

/* A flat data segment for unreal mode (selector 8). */
gdt:            .quad   0
                .byte   0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0
gdt_desc:       .word   15
                .long   gdt

magic:          .ascii  "FERRYCNT"
msg_counter:    .asciz  "ferry-guest counter "
msg_disk_err:   .ascii  "ferry-guest disk error"
crlf:           .asciz  "\r\n"

        .org    510                     /* fails to assemble if too big */
        .byte   0x55, 0xaa
