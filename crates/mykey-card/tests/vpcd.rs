//! The vpcd bridge against a stand-in for the reader driver: framing, control messages, stop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use mykey_card::vpcd::{self, Vpcd};
use mykey_card::{ATR, CardFile, MemoryTransport, VirtualCard};

use crate::fixtures::FreshCard;

fn send(s: &mut TcpStream, payload: &[u8]) {
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    s.write_all(&frame).unwrap();
}

fn recv(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut msg = vec![0; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut msg).unwrap();
    msg
}

#[test]
fn speaks_the_vpcd_protocol_and_saves_counters() {
    let fresh = FreshCard::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let file = fresh.file.clone();
    let card = fresh.load();
    let bridge = std::thread::spawn(move || {
        let mut transport = MemoryTransport::with_store(card, file);
        vpcd::run(&mut transport, addr).map(|()| transport.into_parts().0)
    });
    let (mut driver, _) = listener.accept().unwrap();
    send(&mut driver, &[0x01]);
    send(&mut driver, &[0x04]);
    assert_eq!(recv(&mut driver), ATR);
    send(
        &mut driver,
        &[
            0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
            0x01,
        ],
    );
    assert_eq!(recv(&mut driver), [0x90, 0x00]);
    send(&mut driver, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18]);
    assert_eq!(recv(&mut driver), [0x90, 0x00]);
    send(
        &mut driver,
        &[0x00, 0x20, 0x00, 0x80, 0x04, b'0', b'0', b'0', b'0'],
    );
    assert_eq!(recv(&mut driver), [0x63, 0xC2]);
    assert_eq!(
        CardFile::new(fresh.file.path())
            .load()
            .unwrap()
            .summary()
            .ui_pin
            .left,
        2
    );
    // A reset forgets the selection: VERIFY now has no current EF.
    send(&mut driver, &[0x02]);
    send(&mut driver, &[0x00, 0x20, 0x00, 0x80]);
    assert_eq!(recv(&mut driver), [0x69, 0x86]);
    // Power off and on, unknown control bytes: no answer expected; the next APDU still works.
    send(&mut driver, &[0x00]);
    send(&mut driver, &[0x01]);
    send(&mut driver, &[0x07]);
    send(&mut driver, &[0xFF, 0xFF]);
    assert_eq!(recv(&mut driver), [0x67, 0x00]);
    drop(driver);
    let card: VirtualCard = bridge.join().unwrap().unwrap();
    assert_eq!(card.summary().ui_pin.left, 2);
}

#[test]
fn a_stopper_ends_the_session_and_a_missing_driver_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let card = FreshCard::new().load();
    let connection = Vpcd::connect(addr).unwrap();
    let stopper = connection.stopper().unwrap();
    let bridge = std::thread::spawn(move || connection.serve(&mut MemoryTransport::new(card)));
    let (mut driver, _) = listener.accept().unwrap();
    send(&mut driver, &[0x04]);
    assert_eq!(recv(&mut driver), ATR);
    stopper.stop();
    bridge.join().unwrap().unwrap();
    drop(listener);
    assert!(matches!(
        Vpcd::connect(addr),
        Err(vpcd::VpcdError::Connect { .. })
    ));
}
